/*
 * NAME
 *	attach_files.c - the stored files of linked attachments: which may go
 *
 * SYNOPSIS
 *	attach_files_plan(c, mode, &plan)   in the command's open transaction
 *	attach_files_apply(c, &plan)        after its commit
 *
 * DESCRIPTION
 *	beacon-milter stores each linked attachment once under [milter]
 *	attachment_dir as <aa>/<sha256hex> (a blob) and writes one manifest
 *	t/<rid-hex> per recipient, a line per attachment:
 *	n TAB sha256hex TAB size TAB expires_unix TAB type TAB name.
 *	beaconctl purge, maintain and forget remove what no live message
 *	needs any more:
 *
 *	  a manifest, when its token is tombstoned (beacon.purged_tokens:
 *	  purged or forgotten), or when every one of its lines has expired
 *	  (an expiry of 0 never does);
 *	  a manifest of a token not yet in the database (its row still in
 *	  the milter's spool) stays while a line is live;
 *	  a blob, when no kept manifest line and no beacon.attachments row
 *	  (storage_ref) that has not expired names it, and its own expiry
 *	  has passed: its modification time (the milter writes or reuses
 *	  it) plus attachment_ttl.  forget does not wait for that expiry
 *	  for the blobs of the manifests it removes: a file no one else
 *	  references goes at once.
 *
 *	Only names of the store's own form are touched: a two-digit hex
 *	directory holding 64-hex files starting with those digits, and
 *	32-hex files in t/; each must be a regular file (lstat: a symbolic
 *	link is never followed nor removed), and it is checked again just
 *	before unlinkat(2), relative to directories opened with O_NOFOLLOW
 *	inside attachment_dir (which itself may be a link the operator
 *	made).  The milter's temporary files and anything else stay.  A
 *	manifest that cannot be read means the blobs it names are unknown:
 *	no blob is removed in that run (a warning says why).
 *
 *	The plan queries the database inside the caller's transaction, so
 *	purge --dry-run sees the rows its purge would remove; the files go
 *	only after the commit.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "attach_files.h"

#define AF_SHA_LEN 64		/* hex digits of a blob's name */
#define AF_RID_LEN 32		/* hex digits of a manifest's name */
#define AF_MANIFEST_MAX (1 << 20)	/* a larger manifest is not read */
#define AF_BATCH 5000		/* tokens per tombstone query */

/* af_hexname - is NAME exactly LEN lower-case hex digits? */
static int af_hexname(const char *name, size_t len)
{
	size_t i;

	for (i = 0; name[i]; i++)
		if (i >= len || !((name[i] >= '0' && name[i] <= '9') ||
				  (name[i] >= 'a' && name[i] <= 'f')))
			return 0;
	return i == len;
}

/* af_push - append a copy of S to the list *V of *N (exits when out of memory) */
static void af_push(struct ctl *c, char ***v, size_t *n, size_t *cap, const char *s)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;
		char **nv = realloc(*v, ncap * sizeof(*nv));
		if (!nv)
			ctl_die(c, EX_OSERR, "out of memory");
		*v = nv;
		*cap = ncap;
	}
	if (!((*v)[*n] = strdup(s)))
		ctl_die(c, EX_OSERR, "out of memory");
	(*n)++;
}

static int af_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* af_has - is S in the sorted list V of N? */
static int af_has(char **v, size_t n, const char *s)
{
	return n && bsearch(&s, v, n, sizeof(*v), af_cmp) != NULL;
}

/* af_sort - sort the list V of *N and drop duplicates */
static void af_sort(char **v, size_t *n)
{
	size_t k = 0;

	if (!*n)
		return;
	qsort(v, *n, sizeof(*v), af_cmp);
	for (size_t i = 1; i < *n; i++) {
		if (strcmp(v[i], v[k]) == 0)
			free(v[i]);
		else
			v[++k] = v[i];
	}
	*n = k + 1;
}

/* af_opendir - the subdirectory NAME of DFD, never through a link; -1 if none */
static int af_opendir(int dfd, const char *name)
{
	return openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

/* one manifest found in t/ */
struct af_manifest {
	char rid[AF_RID_LEN + 1];	/* its name */
	char **refs;			/* blobs its live lines name */
	size_t nrefs, caprefs;
	char **all;			/* blobs any of its lines names */
	size_t nall, capall;
	int live;			/* a line has not expired */
	int gone;			/* to be removed */
};

/* af_read_manifest - read manifest M (open as FD) at NOW; -1 if it cannot be read */
static int af_read_manifest(struct ctl *c, int fd, struct af_manifest *m, time_t now)
{
	char *buf = malloc(AF_MANIFEST_MAX + 1), *line, *save = NULL;
	size_t len = 0;
	ssize_t r;

	if (!buf)
		ctl_die(c, EX_OSERR, "out of memory");
	while ((r = read(fd, buf + len, AF_MANIFEST_MAX + 1 - len)) > 0)
		len += (size_t)r;
	if (r < 0 || len > AF_MANIFEST_MAX) {
		free(buf);
		return -1;
	}
	buf[len] = '\0';
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *f[4], *p = line, *end;
		long long expires;
		int k;

		for (k = 0; k < 4 && p; k++) {
			f[k] = p;
			p = strchr(p, '\t');
			if (p)
				*p++ = '\0';
		}
		if (k < 4 || !p || !af_hexname(f[1], AF_SHA_LEN)) {
			fprintf(stderr, "beaconctl: warning: attachment manifest t/%s: a line "
				"not of the form n<TAB>sha256<TAB>size<TAB>expiry<TAB>...: ignored\n",
				m->rid);
			continue;
		}
		errno = 0;
		expires = strtoll(f[3], &end, 10);
		if (errno || end == f[3] || *end) {
			fprintf(stderr, "beaconctl: warning: attachment manifest t/%s: expiry "
				"'%s' is not a number: the line counts as live\n", m->rid, f[3]);
			expires = (long long)now + 1;
		}
		af_push(c, &m->all, &m->nall, &m->capall, f[1]);
		if (expires == 0 || expires > (long long)now) {	/* 0: no expiry of its own */
			m->live = 1;
			af_push(c, &m->refs, &m->nrefs, &m->caprefs, f[1]);
		}
	}
	free(buf);
	return 0;
}

/* af_scan_manifests - read every manifest of t/ into PLAN's list; 0, or -1 when one
 * could not be read (then no blob may go) */
static int af_scan_manifests(struct ctl *c, int top, struct af_manifest **out, size_t *nout,
			     time_t now)
{
	struct af_manifest *v = NULL;
	size_t n = 0, cap = 0;
	int tfd = af_opendir(top, "t"), ok = 0;
	struct dirent *de;
	DIR *d;

	*out = NULL;
	*nout = 0;
	if (tfd < 0) {
		if (errno == ENOENT)
			return 0;
		fprintf(stderr, "beaconctl: warning: %s/t: %s: no attachment file is removed\n",
			c->cfg.milter.attachment_dir, strerror(errno));
		return -1;
	}
	if (!(d = fdopendir(tfd))) {
		close(tfd);
		return -1;
	}
	while ((de = readdir(d))) {
		struct stat st;
		int fd;

		if (!af_hexname(de->d_name, AF_RID_LEN) ||
		    fstatat(tfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
			continue;
		if (n == cap) {
			struct af_manifest *nv = realloc(v, (cap = cap ? cap * 2 : 64) * sizeof(*v));
			if (!nv)
				ctl_die(c, EX_OSERR, "out of memory");
			v = nv;
		}
		memset(&v[n], 0, sizeof(v[n]));
		memcpy(v[n].rid, de->d_name, AF_RID_LEN + 1);
		fd = openat(tfd, de->d_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0 || af_read_manifest(c, fd, &v[n], now) < 0) {
			fprintf(stderr, "beaconctl: warning: attachment manifest %s/t/%s cannot be "
				"read (%s): no attachment file is removed\n",
				c->cfg.milter.attachment_dir, de->d_name,
				fd < 0 ? strerror(errno) : "read error or too large");
			ok = -1;
			v[n].live = 1;	/* kept, as if live */
		}
		if (fd >= 0)
			close(fd);
		n++;
	}
	closedir(d);
	*out = v;
	*nout = n;
	return ok;
}

/* af_tombstoned - mark gone the manifests of V whose token is in beacon.purged_tokens */
static void af_tombstoned(struct ctl *c, struct af_manifest *v, size_t n)
{
	for (size_t i = 0; i < n; i += AF_BATCH) {
		size_t end = i + AF_BATCH < n ? i + AF_BATCH : n, len = 0;
		char *arr = NULL;
		FILE *fp = open_memstream(&arr, &len);
		const char *param;
		PGresult *res;

		if (!fp)
			ctl_die(c, EX_OSERR, "out of memory");
		fputc('{', fp);
		for (size_t k = i; k < end; k++)
			fprintf(fp, "%s%s", k > i ? "," : "", v[k].rid);
		fputc('}', fp);
		if (fclose(fp) != 0)
			ctl_die(c, EX_OSERR, "out of memory");
		param = arr;
		res = ctl_exec(c, "attachment files",
			       "SELECT replace(p.token_id::text, '-', '') FROM beacon.purged_tokens p "
			       "WHERE p.token_id = ANY ($1::uuid[])", 1, &param);
		free(arr);
		for (int r = 0; r < PQntuples(res); r++)
			for (size_t k = i; k < end; k++)
				if (strcmp(v[k].rid, PQgetvalue(res, r, 0)) == 0)
					v[k].gone = 1;
		PQclear(res);
	}
}

/* af_plan_add - PLAN removes NAME of the directory DIR (a blob when DIR is not "t") */
static void af_plan_add(struct ctl *c, struct attach_plan *p, const char *dir,
			const char *name, int force)
{
	char path[2 * 256 + 4];	/* "!" dir "/" name: two d_name at most */

	snprintf(path, sizeof(path), "%s%s/%s", force ? "!" : "", dir, name);
	af_push(c, &p->paths, &p->npaths, &p->cap, path);
}

/* attach_files_plan - decide, in the open transaction, which files go (see the top) */
void attach_files_plan(struct ctl *c, enum attach_mode mode, struct attach_plan *p)
{
	const char *dir = c->cfg.milter.attachment_dir;
	char **refs = NULL, **forced = NULL;
	size_t nrefs = 0, caprefs = 0, nforced = 0, capforced = 0, nman;
	struct af_manifest *man;
	time_t now = time(NULL);
	int top, blobs_ok;
	struct dirent *de;
	PGresult *res;
	DIR *d;

	memset(p, 0, sizeof(*p));
	p->ttl = c->cfg.milter.attachment_ttl;
	if (!dir || !*dir)
		return;
	if ((top = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		if (errno != ENOENT) {
			fprintf(stderr, "beaconctl: warning: attachment_dir %s: %s: no attachment "
				"file is removed\n", dir, strerror(errno));
			p->failed++;
		}
		return;
	}
	blobs_ok = af_scan_manifests(c, top, &man, &nman, now) == 0;
	if (nman)
		af_tombstoned(c, man, nman);
	for (size_t i = 0; i < nman; i++) {
		if (!man[i].live)
			man[i].gone = 1;
		if (man[i].gone) {
			af_plan_add(c, p, "t", man[i].rid, 0);
			p->manifests++;
			if (mode == ATTACH_FORGET)
				for (size_t k = 0; k < man[i].nall; k++)
					af_push(c, &forced, &nforced, &capforced, man[i].all[k]);
		} else {
			for (size_t k = 0; k < man[i].nrefs; k++)
				af_push(c, &refs, &nrefs, &caprefs, man[i].refs[k]);
		}
		for (size_t k = 0; k < man[i].nrefs; k++)
			free(man[i].refs[k]);
		for (size_t k = 0; k < man[i].nall; k++)
			free(man[i].all[k]);
		free(man[i].refs);
		free(man[i].all);
	}
	free(man);

	res = ctl_exec(c, "attachment files",
		       "SELECT DISTINCT storage_ref FROM beacon.attachments "
		       "WHERE storage_ref IS NOT NULL AND (expires_at IS NULL OR expires_at > now())",
		       0, NULL);
	for (int r = 0; r < PQntuples(res); r++)
		af_push(c, &refs, &nrefs, &caprefs, PQgetvalue(res, r, 0));
	PQclear(res);
	af_sort(refs, &nrefs);
	af_sort(forced, &nforced);

	if (blobs_ok && (d = fdopendir(dup(top)))) {
		while ((de = readdir(d))) {
			int sub;
			DIR *sd;
			struct dirent *be;

			if (!af_hexname(de->d_name, 2) || (sub = af_opendir(top, de->d_name)) < 0)
				continue;
			if (!(sd = fdopendir(sub))) {
				close(sub);
				continue;
			}
			while ((be = readdir(sd))) {
				struct stat st;
				int force;

				if (!af_hexname(be->d_name, AF_SHA_LEN) ||
				    strncmp(be->d_name, de->d_name, 2) != 0 ||
				    af_has(refs, nrefs, be->d_name) ||
				    fstatat(sub, be->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
				    !S_ISREG(st.st_mode))
					continue;
				force = af_has(forced, nforced, be->d_name);
				if (!force && st.st_mtime + p->ttl > now)
					continue;
				af_plan_add(c, p, de->d_name, be->d_name, force);
				p->blobs++;
				p->bytes += st.st_size;
			}
			closedir(sd);
		}
		closedir(d);
	}
	close(top);
	for (size_t i = 0; i < nrefs; i++)
		free(refs[i]);
	for (size_t i = 0; i < nforced; i++)
		free(forced[i]);
	free(refs);
	free(forced);
}

/* af_unlink - remove PATH ("[!]dir/name") of the plan below TOP if it still is a
 * regular file (and, unless forced, a blob still expired at NOW); 0 or -1 */
static int af_unlink(const struct ctl *c, int top, const char *path, long ttl, time_t now)
{
	int force = path[0] == '!', sub, rc = 0;
	const char *rel = path + force, *slash = strchr(rel, '/');
	char dirname[4];
	struct stat st;

	if (!slash || (size_t)(slash - rel) >= sizeof(dirname))
		return 0;
	memcpy(dirname, rel, (size_t)(slash - rel));
	dirname[slash - rel] = '\0';
	if ((sub = af_opendir(top, dirname)) < 0)
		return errno == ENOENT ? 0 : -1;
	if (fstatat(sub, slash + 1, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
	    (force || strcmp(dirname, "t") == 0 || st.st_mtime + ttl <= now) &&
	    unlinkat(sub, slash + 1, 0) < 0 && errno != ENOENT) {
		fprintf(stderr, "beaconctl: warning: %s/%s: %s\n", c->cfg.milter.attachment_dir,
			rel, strerror(errno));
		rc = -1;
	}
	close(sub);
	return rc;
}

/* attach_files_apply - remove the files of PLAN; the failures are counted in it */
void attach_files_apply(struct ctl *c, struct attach_plan *p)
{
	int top;
	time_t now = time(NULL);

	if (!p->npaths)
		return;
	if ((top = open(c->cfg.milter.attachment_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		fprintf(stderr, "beaconctl: warning: attachment_dir %s: %s\n",
			c->cfg.milter.attachment_dir, strerror(errno));
		p->failed++;
		return;
	}
	for (size_t i = 0; i < p->npaths; i++)
		if (af_unlink(c, top, p->paths[i], p->ttl, now) < 0)
			p->failed++;
	close(top);
}

/* attach_files_free - release PLAN */
void attach_files_free(struct attach_plan *p)
{
	for (size_t i = 0; i < p->npaths; i++)
		free(p->paths[i]);
	free(p->paths);
	p->paths = NULL;
	p->npaths = p->cap = 0;
}
