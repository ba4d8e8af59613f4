/*
 * credential.c: reading secret files and checking who may read them (see
 * credential.h), with libacl for systemd's credential ACLs.
 */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <acl/libacl.h>
#include <openssl/crypto.h>
#include <sys/acl.h>

#include "credential.h"
#include "safe_file.h"
#include "xalloc.h"

char *credential_path(const char *config_path, const char *file)
{
	const char *base = getenv("CREDENTIALS_DIRECTORY");
	const char *slash;
	char *path;
	int len;

	if (file[0] == '/')
		return xstrdup(file);
	if (base && base[0]) {
		len = (int)strlen(base);
	} else {
		slash = strrchr(config_path, '/');
		base = slash ? config_path : ".";
		len = slash ? (int)(slash - config_path) : 1;
	}
	if (asprintf(&path, "%.*s/%s", len, base, file) < 0)
		return xstrdup(file);
	return path;
}

/*
 * Whether `path` resolves to a file directly or further down in
 * $CREDENTIALS_DIRECTORY, and that file is the one open (`st`): only
 * there does systemd put the ACLs it is trusted for.
 */
static int credential_in_directory(const char *path, const struct stat *st)
{
	const char *dir = getenv("CREDENTIALS_DIRECTORY");
	char *real_dir = NULL, *real_path = NULL;
	struct stat sb;
	size_t len;
	int ret = 0;

	if (!dir || !dir[0])
		return 0;
	real_dir = realpath(dir, NULL);
	real_path = realpath(path, NULL);
	if (!real_dir || !real_path)
		goto out;
	len = strlen(real_dir);
	/* "/" as the directory would let every file in. */
	if (len <= 1 || strncmp(real_path, real_dir, len) != 0 ||
	    real_path[len] != '/')
		goto out;
	if (stat(real_path, &sb) != 0 || sb.st_dev != st->st_dev ||
	    sb.st_ino != st->st_ino)
		goto out;
	ret = 1;
out:
	free(real_dir);
	free(real_path);
	return ret;
}

/* "user 1 (daemon)", or "user 1" for a uid without a name. */
static void credential_user_name(uid_t uid, char *buf, size_t size)
{
	struct passwd *pw = getpwuid(uid);

	if (pw && pw->pw_name)
		snprintf(buf, size, "user %u (%s)", (unsigned)uid, pw->pw_name);
	else
		snprintf(buf, size, "user %u", (unsigned)uid);
}

/* Whether an ACL entry grants read, write or execute, and which. */
static int credential_perms(acl_entry_t entry, int *r, int *w, int *x)
{
	acl_permset_t ps;

	if (acl_get_permset(entry, &ps) != 0)
		return -1;
	*r = acl_get_perm(ps, ACL_READ) == 1;
	*w = acl_get_perm(ps, ACL_WRITE) == 1;
	*x = acl_get_perm(ps, ACL_EXECUTE) == 1;
	return 0;
}

/*
 * Check the entries of the file's extended ACL: the owning group and
 * others get nothing, no named group, and named users only the running
 * user, with read alone.  Returns 0, or -1 with the problem in `why`.
 */
static int credential_check_entries(acl_t acl, char *why, size_t whylen)
{
	char who[128];
	acl_entry_t entry;
	acl_tag_t tag;
	uid_t *uid;
	int r, w, x, more;

	for (more = acl_get_entry(acl, ACL_FIRST_ENTRY, &entry); more == 1;
	     more = acl_get_entry(acl, ACL_NEXT_ENTRY, &entry)) {
		if (acl_get_tag_type(entry, &tag) != 0 ||
		    credential_perms(entry, &r, &w, &x) != 0) {
			snprintf(why, whylen, "cannot read its ACL: %s",
				 strerror(errno));
			return -1;
		}
		switch (tag) {
		case ACL_USER_OBJ:
		case ACL_MASK:
			break;
		case ACL_GROUP_OBJ:
			if (r || w || x) {
				snprintf(why, whylen,
					 "its ACL lets the file's group read it");
				return -1;
			}
			break;
		case ACL_OTHER:
			if (r || w || x) {
				snprintf(why, whylen,
					 "its ACL lets others read it");
				return -1;
			}
			break;
		case ACL_GROUP:
			snprintf(why, whylen,
				 "its ACL lets a named group read it");
			return -1;
		case ACL_USER:
			uid = acl_get_qualifier(entry);
			if (!uid) {
				snprintf(why, whylen,
					 "cannot read its ACL: %s",
					 strerror(errno));
				return -1;
			}
			credential_user_name(*uid, who, sizeof(who));
			if (*uid != geteuid()) {
				snprintf(why, whylen,
					 "its ACL lets %s read it, who is not the user this runs as",
					 who);
				acl_free(uid);
				return -1;
			}
			acl_free(uid);
			if (w || x) {
				snprintf(why, whylen,
					 "its ACL lets %s write or execute it, not just read it",
					 who);
				return -1;
			}
			break;
		default:
			snprintf(why, whylen, "its ACL has an entry of an unknown kind");
			return -1;
		}
	}
	if (more < 0) {
		snprintf(why, whylen, "cannot read its ACL: %s",
			 strerror(errno));
		return -1;
	}
	return 0;
}

int credential_check_access(int fd, const struct stat *st, const char *path,
			    const char *what, char *err, size_t errlen)
{
	unsigned mode = (unsigned)(st->st_mode & 07777);
	char why[256];
	acl_t acl = NULL;
	int ret = -1;

	if (!(st->st_mode & (S_IRWXG | S_IRWXO)))
		return 0;
	/*
	 * A group bit may be the mask of an access ACL; others are never
	 * given a credential, ACL or not.
	 */
	if (!(st->st_mode & S_IRWXO))
		acl = acl_get_fd(fd);
	if (!acl || acl_equiv_mode(acl, NULL) == 0) {
		snprintf(err, errlen,
			 "the %s '%s' is accessible by group or others (mode %04o); chmod 600 '%s'",
			 what, path, mode, path);
		goto out;
	}
	if (!credential_in_directory(path, st)) {
		snprintf(err, errlen,
			 "the %s '%s' has an ACL that gives access to others than its owner (mode %04o), and only systemd's credentials in $CREDENTIALS_DIRECTORY may have one; remove it with setfacl -b '%s' and chmod 600 '%s', or hand the file over with LoadCredential=",
			 what, path, mode, path, path);
		goto out;
	}
	if (credential_check_entries(acl, why, sizeof(why)) != 0) {
		snprintf(err, errlen,
			 "the %s '%s' (mode %04o): %s; only the user this runs as may read a credential, as systemd's LoadCredential= sets it up: check the LoadCredential= line and what set this ACL",
			 what, path, mode, why);
		goto out;
	}
	ret = 0;
out:
	if (acl)
		acl_free(acl);
	return ret;
}

int credential_read(const char *path, const char *what, const char *holds,
		    char **data, size_t *len, char *err, size_t errlen)
{
	char why[512];
	struct stat st;
	char *buf = NULL;
	size_t have = 0;
	ssize_t got;
	int fd, ret = -1;

	*data = NULL;
	*len = 0;
	fd = safe_file_open(path, 0, &st, why, sizeof(why));
	if (fd == SAFE_FILE_MISSING) {
		snprintf(err, errlen,
			 "cannot open the %s '%s': %s; create it with %s on one line and chmod 600 '%s'",
			 what, path, strerror(ENOENT), holds, path);
		return -1;
	}
	if (fd < 0) {
		snprintf(err, errlen, "cannot read the %s: %s; give a regular file that holds %s",
			 what, why, holds);
		return -1;
	}
	if (credential_check_access(fd, &st, path, what, err, errlen) != 0)
		goto out;
	/* One byte past the cap tells a file that is too large. */
	buf = xmalloc(CREDENTIAL_MAX + 2);
	for (;;) {
		got = read(fd, buf + have, CREDENTIAL_MAX + 1 - have);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			snprintf(err, errlen, "cannot read the %s '%s': %s",
				 what, path, strerror(errno));
			goto out;
		}
		if (got == 0)
			break;
		have += (size_t)got;
		if (have > CREDENTIAL_MAX) {
			snprintf(err, errlen,
				 "the %s '%s' is larger than %d bytes; it must hold only %s",
				 what, path, CREDENTIAL_MAX, holds);
			goto out;
		}
	}
	while (have > 0 && (buf[have - 1] == '\n' || buf[have - 1] == '\r'))
		have--;
	buf[have] = '\0';
	if (have == 0) {
		snprintf(err, errlen,
			 "the %s '%s' is empty; write %s into it, on one line",
			 what, path, holds);
		goto out;
	}
	if (strlen(buf) != have) {
		snprintf(err, errlen,
			 "the %s '%s' holds a NUL byte; it must hold only %s",
			 what, path, holds);
		goto out;
	}
	if (strchr(buf, '\n') || strchr(buf, '\r')) {
		snprintf(err, errlen,
			 "the %s '%s' has more than one line; it must hold only %s, on one line",
			 what, path, holds);
		goto out;
	}
	*data = buf;
	*len = have;
	buf = NULL;
	ret = 0;
out:
	if (buf) {
		OPENSSL_cleanse(buf, CREDENTIAL_MAX + 2);
		free(buf);
	}
	close(fd);
	return ret;
}

void credential_free(char *data, size_t len)
{
	if (!data)
		return;
	OPENSSL_cleanse(data, len);
	free(data);
}
