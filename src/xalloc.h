/*
 * xalloc.h: allocation that cannot fail.
 *
 * The sweeper is a short-lived batch process; when memory runs out there is
 * no useful way to go on, and every error path that could only be taken on
 * allocation failure is an untested path.  These wrappers print one line
 * and exit with status 70 (EX_SOFTWARE) instead.  Nothing has been deleted
 * half-way when that happens: an open batch transaction is rolled back by
 * the server when the connection closes.
 */
#ifndef SWEEPER_XALLOC_H
#define SWEEPER_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *ptr, size_t size);
char *xstrdup(const char *s);

/* Grow *items (of *alloc elements of `size` bytes) to hold at least
 * `need` elements. */
void xgrow(void **items, size_t *alloc, size_t need, size_t size);

#endif /* SWEEPER_XALLOC_H */
