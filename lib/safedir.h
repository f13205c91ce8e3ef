/*
 * safedir.h - reach a directory as root without following a link that
 * someone else could have planted.
 *
 * A daemon starts as root and prepares paths (spool_dir, the pid file's
 * and the milter socket's directories) before it drops to its user.
 * Some of those paths sit in directories that user may write, so a plain
 * chown() or fopen() there would follow a symbolic link the user put in
 * place of the path and act on whatever it points at.
 *
 * safedir_open() walks PATH one component at a time with openat(2)
 * (O_DIRECTORY | O_NOFOLLOW) from "/" (or the working directory), so
 * every later step acts on the directory it checked, not on a name that
 * could be swapped.  A symbolic link is followed only where it sits in a
 * trusted directory: owned by root or by us and writable by no one else,
 * or sticky (like /tmp) with the link owned by root, us or the
 * directory's owner (the fs.protected_symlinks rule); its target is
 * walked by the same rules.  Anything else stops the walk with a message
 * naming the component.  What the caller then does with the descriptor
 * (fchown, fchmod, openat with O_EXCL | O_NOFOLLOW) cannot be redirected.
 */
#ifndef BEACON_SAFEDIR_H
#define BEACON_SAFEDIR_H

#include <stddef.h>

/*
 * safedir_open - a descriptor (O_RDONLY | O_DIRECTORY | O_CLOEXEC) for the
 * directory PATH, reached without following untrusted links.  With MODE
 * non-zero, missing components are created (parents 0755, the last one
 * MODE, both under the umask) and *CREATED (if not NULL) says whether the
 * last one was; with MODE 0 a missing component is an error.  -1 with
 * errno set and ERR saying which component and why.
 */
int safedir_open(const char *path, unsigned mode, int *created, char *err, size_t errlen);

/* safedir_split - the directory part of PATH into DIR (DIRLEN bytes) and a
 * pointer to its last component; NULL if PATH ends in '/' or DIR is too small */
const char *safedir_split(const char *path, char *dir, size_t dirlen);

#endif
