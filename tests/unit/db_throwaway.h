/*
 * NAME
 *	db_throwaway.h - a throwaway PostgreSQL cluster for the unit tests
 *	that need a real server (test_lib_db, test_pixelsrv_writer)
 *
 * SYNOPSIS
 *	struct db_throwaway t;
 *	if (db_throwaway_start(&t, 1) < 0)	(1: with the Beacon schema)
 *		fail();
 *	PGconn *c = PQconnectdb(t.conninfo);
 *	db_throwaway_cmd(&t, "pause");		(SIGSTOP the server)
 *	db_throwaway_cmd(&t, "resume");
 *	db_throwaway_cmd(&t, "sql ALTER TABLE ...");	(one line through psql)
 *	db_throwaway_stop(&t);
 *
 *	cmocka_run_group_tests(tests, db_cluster_up_schema, db_cluster_down);
 *	(the tests use db_cluster)
 *
 * DESCRIPTION
 *	The cluster is the one the shell tests use (tests/lib/pg.sh:
 *	initdb in a temporary directory, 127.0.0.1 on a free port, role and
 *	database "beacon", run as "postgres" under root).  A child bash
 *	starts it, prints the connection string and then serves one command
 *	per line on its stdin, answering "done STATUS" on its stdout.  When
 *	the test closes that stdin, or dies, the shell leaves and its exit
 *	trap stops the server and removes the directory: nothing outlives
 *	the test.
 */
#ifndef BEACON_DB_THROWAWAY_H
#define BEACON_DB_THROWAWAY_H

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* db_throwaway - the child shell that owns the cluster */
struct db_throwaway {
	pid_t pid;		/* the shell */
	int in;			/* its stdin: commands; closing it stops the cluster */
	FILE *out;		/* its stdout: the connection string, then answers */
	char conninfo[512];	/* libpq connection string of database beacon */
};

/* the shell: start, print the connection string, serve commands until EOF */
static const char db_throwaway_sh[] =
	": \"${BEACON_SRC:=$PWD}\"\n"
	". \"$BEACON_SRC/tests/lib/common.sh\" || exit 1\n"
	". \"$BEACON_SRC/tests/lib/pg.sh\" || exit 1\n"
	"t_tmpdir >/dev/null\n"
	"pg_start >&2\n"
	"if [ \"$1\" = schema ]; then pg_schema >&2; fi\n"
	"printf 'conninfo %s\\n' \"$BEACON_CONNINFO\"\n"
	"while read -r cmd arg; do\n"
	"	case $cmd in\n"
	"	pause) pg_pause >&2 ;;\n"
	"	resume) pg_resume >&2 ;;\n"
	"	sql) pg_psql -c \"$arg\" >&2 ;;\n"
	"	*) false ;;\n"
	"	esac\n"
	"	echo \"done $?\"\n"
	"done\n";

/* db_throwaway_start - start the cluster (SCHEMA: apply sql/schema); 0, or -1 */
static inline int db_throwaway_start(struct db_throwaway *t, int schema)
{
	int in[2], out[2];
	char line[sizeof(t->conninfo) + 9];

	memset(t, 0, sizeof(*t));
	signal(SIGPIPE, SIG_IGN);	/* a dead shell is an answer, not a signal */
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0)
		return -1;
	t->pid = fork();
	if (t->pid < 0)
		return -1;
	if (t->pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		execl("/bin/bash", "bash", "-c", db_throwaway_sh, "db_throwaway",
		    schema ? "schema" : "", (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	t->in = in[1];
	t->out = fdopen(out[0], "r");
	if (!t->out || !fgets(line, sizeof(line), t->out) || strncmp(line, "conninfo ", 9) != 0) {
		fprintf(stderr, "db_throwaway: the cluster did not start\n");
		return -1;
	}
	line[strcspn(line, "\n")] = '\0';
	snprintf(t->conninfo, sizeof(t->conninfo), "%s", line + 9);
	return 0;
}

/* db_throwaway_cmd - run one command line (pause, resume, sql TEXT); its exit status, -1 */
static inline int db_throwaway_cmd(struct db_throwaway *t, const char *cmd)
{
	char line[64];
	int rc;

	if (dprintf(t->in, "%s\n", cmd) < 0 || !fgets(line, sizeof(line), t->out) ||
	    sscanf(line, "done %d", &rc) != 1)
		return -1;
	return rc;
}

/* db_throwaway_stop - stop the cluster and remove its files */
static inline void db_throwaway_stop(struct db_throwaway *t)
{
	if (t->in > 0)
		close(t->in);
	if (t->out)
		fclose(t->out);
	if (t->pid > 0)
		waitpid(t->pid, NULL, 0);
	memset(t, 0, sizeof(*t));
}

static struct db_throwaway db_cluster;	/* the cluster of a cmocka group */

/* db_cluster_up - cmocka group setup: db_cluster, without the schema */
static inline int db_cluster_up(void **state)
{
	(void)state;
	return db_throwaway_start(&db_cluster, 0);
}

/* db_cluster_up_schema - cmocka group setup: db_cluster with the Beacon schema */
static inline int db_cluster_up_schema(void **state)
{
	(void)state;
	return db_throwaway_start(&db_cluster, 1);
}

/* db_cluster_down - cmocka group teardown */
static inline int db_cluster_down(void **state)
{
	(void)state;
	db_throwaway_stop(&db_cluster);
	return 0;
}

#endif
