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
 *	made).  The milter's temporary files (.tmp.XXXXXX in <aa>/ and t/)
 *	go once a day old (a crash left them); anything else stays.  A
 *	manifest is read line by line, whatever its size; a line naming a
 *	blob but otherwise not of the form keeps that blob; a manifest that
 *	cannot be read, or with a line naming no blob, is live until its
 *	modification time plus attachment_ttl (the blobs it may name are
 *	then kept by their own expiry); a warning names it.
 *
 *	The plan queries the database inside the caller's transaction, so
 *	purge --dry-run sees the rows its purge would remove; the files go
 *	only after the commit.  From the plan to the end of the removal
 *	beaconctl holds <attachment_dir>/.lock exclusively (flock(2)); the
 *	milter holds it shared from its first blob check to its last
 *	manifest, so no message can start to use a blob in between.  Just
 *	before the blobs go the manifests are read again: a blob a live
 *	line names stays, even one forget would remove at once.
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
#include <sys/file.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "attach_files.h"

#define AF_SHA_LEN 64		/* hex digits of a blob's name */
#define AF_RID_LEN 32		/* hex digits of a manifest's name */
#define AF_TMP_AGE 86400	/* seconds after which a temporary file is a crash's */
#define AF_LOCK_WAIT 60		/* seconds to wait for the milter to let go of the lock */
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
	int unsure;			/* not read, or a line names no blob: its mtime + ttl */
};

/* af_read_manifest - read manifest M (open as FD, closed here) at NOW, line by line
 * (any size); -1 if it cannot be read.  A line naming a blob but otherwise not of
 * the form keeps that blob; a line naming none marks M unsure. */
static int af_read_manifest(struct ctl *c, int fd, struct af_manifest *m, time_t now,
			    int quiet)
{
	FILE *fp = fdopen(fd, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int rc = 0;

	if (!fp) {
		close(fd);
		return -1;
	}
	while ((len = getline(&line, &cap, fp)) >= 0) {
		char *f[4], *p = line, *end;
		long long expires;
		int k;

		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		if (len == 0)
			continue;
		for (k = 0; k < 4 && p; k++) {
			f[k] = p;
			p = strchr(p, '\t');
			if (p)
				*p++ = '\0';
		}
		if (k < 2 || !af_hexname(f[1], AF_SHA_LEN)) {
			if (!quiet && !m->unsure)
				fprintf(stderr, "beaconctl: warning: attachment manifest %s/t/%s: "
					"a line names no blob\n", c->cfg.milter.attachment_dir, m->rid);
			m->unsure = 1;
			continue;
		}
		af_push(c, &m->all, &m->nall, &m->capall, f[1]);
		expires = (long long)now + 1;	/* not of the form: the line counts as live */
		if (k < 4 || !p) {
			if (!quiet)
				fprintf(stderr, "beaconctl: warning: attachment manifest %s/t/%s: a "
					"line not of the form n<TAB>sha256<TAB>size<TAB>expiry<TAB>...: "
					"its blob is kept\n", c->cfg.milter.attachment_dir, m->rid);
		} else {
			errno = 0;
			expires = strtoll(f[3], &end, 10);
			if (errno || end == f[3] || *end) {
				if (!quiet)
					fprintf(stderr, "beaconctl: warning: attachment manifest "
						"%s/t/%s: expiry '%.32s' is not a number: the line "
						"counts as live\n", c->cfg.milter.attachment_dir,
						m->rid, f[3]);
				expires = (long long)now + 1;
			}
		}
		if (expires == 0 || expires > (long long)now) {	/* 0: no expiry of its own */
			m->live = 1;
			af_push(c, &m->refs, &m->nrefs, &m->caprefs, f[1]);
		}
	}
	if (ferror(fp))
		rc = -1;
	free(line);
	fclose(fp);
	return rc;
}

/* af_manifest_free - release the lists of M */
static void af_manifest_free(struct af_manifest *m)
{
	for (size_t k = 0; k < m->nrefs; k++)
		free(m->refs[k]);
	for (size_t k = 0; k < m->nall; k++)
		free(m->all[k]);
	free(m->refs);
	free(m->all);
	m->refs = m->all = NULL;
	m->nrefs = m->nall = 0;
}

/* af_scan_manifests - read every manifest of t/; 0, or -1 when t/ cannot be read
 * (then no blob may go).  A manifest that cannot be read or names blobs it does not
 * say is live until its modification time plus attachment_ttl. */
static int af_scan_manifests(struct ctl *c, int top, struct af_manifest **out, size_t *nout,
			     time_t now, int quiet)
{
	struct af_manifest *v = NULL;
	size_t n = 0, cap = 0;
	int tfd = af_opendir(top, "t");
	struct dirent *de;
	DIR *d;

	*out = NULL;
	*nout = 0;
	if (tfd < 0) {
		if (errno == ENOENT)
			return 0;
		if (!quiet)
			fprintf(stderr, "beaconctl: warning: %s/t: %s: no attachment file is "
				"removed\n", c->cfg.milter.attachment_dir, strerror(errno));
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
		if (fd < 0 || af_read_manifest(c, fd, &v[n], now, quiet) < 0) {
			if (!quiet)
				fprintf(stderr, "beaconctl: warning: attachment manifest %s/t/%s "
					"cannot be read (%s)\n", c->cfg.milter.attachment_dir,
					de->d_name, fd < 0 ? strerror(errno) : "read error");
			v[n].unsure = 1;
		}
		if (v[n].unsure) {
			if (st.st_mtime + c->cfg.milter.attachment_ttl > now)
				v[n].live = 1;
			if (!quiet)
				fprintf(stderr, "beaconctl: warning: attachment manifest %s/t/%s: "
					"kept until its modification time plus attachment_ttl%s\n",
					c->cfg.milter.attachment_dir, de->d_name,
					v[n].live ? "" : " (passed: removed)");
		}
		n++;
	}
	closedir(d);
	*out = v;
	*nout = n;
	return 0;
}

/* af_lock - attachment_dir/.lock (TOP) taken exclusively, waiting at most AF_LOCK_WAIT
 * seconds: beacon-milter holds it shared from its first blob check to its last
 * manifest; the descriptor, or -1 with a warning */
static int af_lock(const struct ctl *c, int top)
{
	const char *dir = c->cfg.milter.attachment_dir;
	int fd = openat(top, ".lock", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct timespec tick = { 0, 100 * 1000 * 1000 };
	struct stat dst;

	if (fd < 0 && errno == ENOENT) {
		fd = openat(top, ".lock", O_RDONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			    0640);
		if (fd >= 0 && geteuid() == 0 && fstat(top, &dst) == 0 &&
		    fchown(fd, dst.st_uid, dst.st_gid) < 0)	/* root: the milter's file */
			fprintf(stderr, "beaconctl: warning: %s/.lock: chown: %s\n", dir,
				strerror(errno));
		if (fd < 0 && errno == EEXIST)
			fd = openat(top, ".lock", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd < 0) {
		fprintf(stderr, "beaconctl: warning: %s/.lock: %s: no attachment file is "
			"removed\n", dir, strerror(errno));
		return -1;
	}
	for (int waited = 0; flock(fd, LOCK_EX | LOCK_NB) < 0; waited++) {
		if ((errno != EWOULDBLOCK && errno != EINTR) || waited >= AF_LOCK_WAIT * 10) {
			fprintf(stderr, "beaconctl: warning: %s/.lock: %s: no attachment file "
				"is removed\n", dir, waited >= AF_LOCK_WAIT * 10 ?
				"still held by beacon-milter" : strerror(errno));
			close(fd);
			return -1;
		}
		nanosleep(&tick, NULL);
	}
	return fd;
}

/* af_unlock - let go of PLAN's lock */
static void af_unlock(struct attach_plan *p)
{
	if (p->lockfd >= 0)
		close(p->lockfd);	/* the flock goes with its last descriptor */
	p->lockfd = -1;
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

/* af_tmpname - is NAME one of the milter's temporary files (mkostemp ".tmp.XXXXXX")? */
static int af_tmpname(const char *name)
{
	size_t i;

	if (strncmp(name, ".tmp.", 5) != 0)
		return 0;
	for (i = 5; name[i]; i++)
		if (i >= 11 || !((name[i] >= '0' && name[i] <= '9') ||
				 (name[i] >= 'a' && name[i] <= 'z') ||
				 (name[i] >= 'A' && name[i] <= 'Z')))
			return 0;
	return i == 11;
}

/* af_plan_temps - PLAN removes the temporary files of SUB (the directory DIR) older
 * than AF_TMP_AGE at NOW: what a crashed milter left */
static void af_plan_temps(struct ctl *c, struct attach_plan *p, int sub, const char *dir,
			  time_t now)
{
	int fd = openat(sub, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);	/* its own offset */
	struct dirent *de;
	struct stat st;
	DIR *d;

	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(d)))
		if (af_tmpname(de->d_name) &&
		    fstatat(sub, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISREG(st.st_mode) && st.st_mtime + AF_TMP_AGE <= now) {
			af_plan_add(c, p, dir, de->d_name, 0);
			p->temps++;
		}
	closedir(d);
}

/* attach_files_plan - decide, in the open transaction, which files go (see the top) */
void attach_files_plan(struct ctl *c, enum attach_mode mode, struct attach_plan *p)
{
	const char *dir = c->cfg.milter.attachment_dir;
	char **refs = NULL, **forced = NULL;
	size_t nrefs = 0, caprefs = 0, nforced = 0, capforced = 0, nman;
	struct af_manifest *man;
	time_t now = time(NULL);
	int top, tfd, blobs_ok;
	struct dirent *de;
	PGresult *res;
	DIR *d;

	memset(p, 0, sizeof(*p));
	p->lockfd = -1;
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
	if ((p->lockfd = af_lock(c, top)) < 0) {
		p->failed++;
		close(top);
		return;
	}
	blobs_ok = af_scan_manifests(c, top, &man, &nman, now, 0) == 0;
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
		af_manifest_free(&man[i]);
	}
	free(man);
	if ((tfd = af_opendir(top, "t")) >= 0) {
		af_plan_temps(c, p, tfd, "t", now);
		close(tfd);
	}

	res = ctl_exec(c, "attachment files",
		       "SELECT DISTINCT storage_ref FROM beacon.attachments "
		       "WHERE storage_ref IS NOT NULL AND (expires_at IS NULL OR expires_at > now())",
		       0, NULL);
	for (int r = 0; r < PQntuples(res); r++)
		af_push(c, &refs, &nrefs, &caprefs, PQgetvalue(res, r, 0));
	PQclear(res);
	af_sort(refs, &nrefs);
	af_sort(forced, &nforced);

	if ((d = fdopendir(dup(top)))) {
		while ((de = readdir(d))) {
			int sub;
			DIR *sd;
			struct dirent *be;

			if (!af_hexname(de->d_name, 2) || (sub = af_opendir(top, de->d_name)) < 0)
				continue;
			af_plan_temps(c, p, sub, de->d_name, now);
			if (!blobs_ok || !(sd = fdopendir(sub))) {
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

/* af_named - the sorted blobs a live line of a manifest of t/ (TOP) names now (a line
 * not of the form counts as live); *UNSURE set when one
 * of them could not be read whole (then no blob goes before its own expiry) */
static char **af_named(struct ctl *c, int top, size_t *n, int *unsure, time_t now)
{
	struct af_manifest *man;
	size_t nman, cap = 0;
	char **v = NULL;

	*n = 0;
	if (af_scan_manifests(c, top, &man, &nman, now, 1) < 0)
		*unsure = 1;
	for (size_t i = 0; i < nman; i++) {
		if (man[i].unsure)
			*unsure = 1;
		for (size_t k = 0; k < man[i].nrefs; k++)
			af_push(c, &v, n, &cap, man[i].refs[k]);
		af_manifest_free(&man[i]);
	}
	free(man);
	af_sort(v, n);
	return v;
}

/* af_unlink - remove PATH ("[!]dir/name") of the plan below TOP if it still is a
 * regular file and: a manifest; a temporary file still old; a blob no manifest in
 * NAMED (N) names, forced or still expired at NOW.  0 removed, 1 kept (a blob's size
 * in *SIZE), -1 error */
static int af_unlink(const struct ctl *c, int top, const char *path, long ttl, time_t now,
		     char **named, size_t n, long long *size)
{
	int force = path[0] == '!', sub, rc = 1;
	const char *rel = path + force, *slash = strchr(rel, '/'), *name;
	char dirname[4];
	struct stat st;

	*size = 0;
	if (!slash || (size_t)(slash - rel) >= sizeof(dirname))
		return 1;
	name = slash + 1;
	memcpy(dirname, rel, (size_t)(slash - rel));
	dirname[slash - rel] = '\0';
	if ((sub = af_opendir(top, dirname)) < 0)
		return errno == ENOENT ? 0 : -1;
	if (fstatat(sub, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		rc = errno == ENOENT ? 0 : 1;	/* gone already */
		close(sub);
		return rc;
	}
	if (!S_ISREG(st.st_mode)) {
		close(sub);
		return 1;
	}
	if (af_tmpname(name) ? st.st_mtime + AF_TMP_AGE <= now :
	    strcmp(dirname, "t") == 0 ? 1 :
	    !af_has(named, n, name) && (force || st.st_mtime + ttl <= now)) {
		rc = 0;
		if (unlinkat(sub, name, 0) < 0 && errno != ENOENT) {
			fprintf(stderr, "beaconctl: warning: %s/%s: %s\n",
				c->cfg.milter.attachment_dir, rel, strerror(errno));
			rc = -1;
		}
	}
	*size = st.st_size;
	close(sub);
	return rc;
}

/* attach_files_apply - under the lock the plan took: remove the manifests of PLAN,
 * then its blobs that no manifest left names, then its temporary files; the
 * failures are counted in it */
void attach_files_apply(struct ctl *c, struct attach_plan *p)
{
	int top, unsure = 0;
	time_t now = time(NULL);
	char **named = NULL;
	size_t nnamed = 0;
	long long size;

	if (!p->npaths) {
		af_unlock(p);
		return;
	}
	if ((top = open(c->cfg.milter.attachment_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		fprintf(stderr, "beaconctl: warning: attachment_dir %s: %s\n",
			c->cfg.milter.attachment_dir, strerror(errno));
		p->failed++;
		af_unlock(p);
		return;
	}
	for (size_t i = 0; i < p->npaths; i++)
		if (strncmp(p->paths[i], "t/", 2) == 0 && !af_tmpname(p->paths[i] + 2) &&
		    af_unlink(c, top, p->paths[i], p->ttl, now, NULL, 0, &size) < 0)
			p->failed++;
	named = af_named(c, top, &nnamed, &unsure, now);
	for (size_t i = 0; i < p->npaths; i++) {
		const char *path = p->paths[i];
		int rc, blob;

		if (strncmp(path, "t/", 2) == 0 && !af_tmpname(path + 2))
			continue;
		/* a manifest that could not be read may name a forced blob: its expiry then */
		if (unsure && path[0] == '!')
			path++;
		blob = !af_tmpname(strchr(path, '/') + 1);
		rc = af_unlink(c, top, path, p->ttl, now, named, nnamed, &size);
		if (rc < 0)
			p->failed++;
		else if (rc > 0 && blob) {
			p->blobs--;
			p->bytes -= size;
		} else if (rc > 0)
			p->temps--;
	}
	for (size_t i = 0; i < nnamed; i++)
		free(named[i]);
	free(named);
	close(top);
	af_unlock(p);
}

/* attach_files_free - release PLAN and its lock */
void attach_files_free(struct attach_plan *p)
{
	af_unlock(p);
	for (size_t i = 0; i < p->npaths; i++)
		free(p->paths[i]);
	free(p->paths);
	p->paths = NULL;
	p->npaths = p->cap = 0;
}
