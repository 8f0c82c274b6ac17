/*
 * Allocation wrappers that abort on out-of-memory, so callers need no NULL
 * checks.  Sizes from the network must be bounded before they get here.
 */
#ifndef DFFMPEG_XMALLOC_H
#define DFFMPEG_XMALLOC_H

#include <stddef.h>

void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xrealloc(void *, size_t);
void	*xreallocarray(void *, size_t, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);
void	*xmemdup(const void *, size_t);
int	 xasprintf(char **, const char *, ...)
	    __attribute__((format(printf, 2, 3)));

#endif
