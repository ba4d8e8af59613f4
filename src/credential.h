/*
 * credential.h: the files that hold a secret (the webhook's secret_file,
 * the database's password_file): where a name written in the config
 * points, who may read such a file, and reading it without hanging.
 *
 * A credential file must be readable by its owner alone.  One exception
 * is made for systemd 254 and later: with DynamicUser=yes, a
 * LoadCredential= file in $CREDENTIALS_DIRECTORY is mode 0400 plus an
 * access ACL entry that lets the service's user read it, which shows as
 * mode 0440.  Such a file is accepted when it is under
 * $CREDENTIALS_DIRECTORY, its owning group and others get nothing, and
 * every other ACL entry lets only the running user read it.
 *
 * Messages name the file and the fix, never the contents.
 */
#ifndef SWEEPER_CREDENTIAL_H
#define SWEEPER_CREDENTIAL_H

#include <stddef.h>
#include <sys/stat.h>

/* The largest credential file read: a secret, a password, not a file. */
#define CREDENTIAL_MAX 4096

/*
 * The path a credential file name from the config means: `file` as
 * written if absolute, else relative to $CREDENTIALS_DIRECTORY when that
 * is set and not empty, else relative to the directory of the config file
 * `config_path`.  Returns a newly allocated string the caller frees.
 */
char *credential_path(const char *config_path, const char *file);

/*
 * Check that the file open as `fd` (whose fstat() is `st`, opened by the
 * name `path`) is readable by its owner alone, or is a systemd credential
 * shared with the running user through an ACL as described above.
 * `what` names the file in messages ("secret file").  Returns 0, or -1
 * with one line in err naming the file and the fix.
 */
int credential_check_access(int fd, const struct stat *st, const char *path,
			    const char *what, char *err, size_t errlen);

/*
 * Read the credential file at `path` (absolute): opened without blocking
 * on a FIFO (src/safe_file.h), a regular file, access checked with
 * credential_check_access(), at most CREDENTIAL_MAX bytes, one line (the
 * line break at its end, "\n" or "\r\n", is dropped), not empty, no NUL
 * byte.  `what` names the file in messages ("password file"), `holds`
 * what it must hold ("the password").  On success returns 0 and sets
 * *data to a newly allocated NUL-terminated copy of the line, which the
 * caller frees with credential_free(), and *len to its length.  On
 * failure returns -1 with one line in err; *data is NULL.
 */
int credential_read(const char *path, const char *what, const char *holds,
		    char **data, size_t *len, char *err, size_t errlen);

/* Wipe `len` bytes of `data` and free it.  Accepts NULL. */
void credential_free(char *data, size_t len);

#endif /* SWEEPER_CREDENTIAL_H */
