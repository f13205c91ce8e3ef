#!/usr/bin/env python3
# NAME
#	distcheck.py - hold schema beacon and sql/reports to the Citus layout
#
# SYNOPSIS
#	PGHOST=... PGPORT=... PGUSER=... PGDATABASE=... \
#	    tests/lib/distcheck.py [-v] [--catalog | --reports] SRC
#
# DESCRIPTION
#	SRC is the source tree; the database is a migrated Beacon database
#	(plain PostgreSQL: Citus is not needed).  Reads the layout from the
#	one-line calls of SRC/sql/citus/001_distribute.sql (its header lists
#	the forms) and checks, printing one line per failure:
#
#	tables     every table of schema beacon (not a partition) is on
#	           exactly one list (distributed, reference, local), every
#	           listed table exists, every distribution column exists and
#	           a table co-located with another has a distribution column
#	           of the same type;
#	keys       every unique index and exclusion constraint of a
#	           distributed table (and of its partitions) has the
#	           distribution column as a plain key column;
#	foreign    every foreign key is one Citus keeps (co-located
#	           distributed tables on their distribution columns,
#	           distributed or local to reference, reference to
#	           reference, local to local), or the file drops it; every
#	           key the file drops exists;
#	triggers   every trigger of a distributed or reference table is
#	           dropped by the file; every trigger it drops exists;
#	policies   every row-level security policy with a subquery (in USING
#	           or WITH CHECK) on a table of any list is dropped by the
#	           file (Citus refuses them on distributed, reference and
#	           local tables alike); every policy it drops exists;
#	reports    in the plans of SRC/sql/reports/*.sql, every join
#	           between distributed tables is on their distribution
#	           columns, and every correlated subquery or lateral
#	           subquery that reads a distributed table is correlated by
#	           distribution column to a distributed table's.
#
#	--catalog runs the first five only (on every partition of events:
#	a unique index made on the monthly partitions alone is seen),
#	--reports the last only (on a database with one partition of events,
#	see below); neither: all.
#
#	How the reports are read: each report is run by psql with EXPLAIN
#	(VERBOSE, FORMAT JSON) put before its query, twice (variables
#	q=x address=a@example.org, then q=x message=<a uuid>, so that every
#	branch of history.sql and search.sql is planned), with each of
#	its CTEs marked NOT MATERIALIZED so that the planner inlines them
#	and every join shows between tables, not CTE results (stricter
#	than Citus, which may materialise a CTE used twice).  In each plan:
#	a join node whose outer and inner sides both scan a distributed
#	table (not behind an Aggregate, WindowAgg, Limit, Unique, Group or
#	SetOp node: such a result is computed first, as Citus does with a
#	subquery it cannot push down) needs the distribution columns of a
#	table of each side to be equal by the conditions of the join and
#	of both sides (a.x = b.y, directly or through other columns: the
#	planner moves a join clause into a parameterised scan, or turns
#	a = o and b = o into two filters);
#	a SubPlan, or the inner side of a nested loop that holds such a
#	node, that reads a distributed table and refers to tables outside
#	it is a correlated subquery, and needs an equality between the
#	distribution column of a distributed table inside and that of one
#	outside.
#
#	Limits: the check sees the plans PostgreSQL chooses on this
#	database for those two sets of variables: a join the planner
#	removes (a constant false condition, a LEFT JOIN it proves useless)
#	is not seen.  Conditions are read as EXPLAIN prints them: an
#	equality is "a.col = b.col" between two column references; a
#	column of a subquery that is not flattened counts as a
#	distribution column when it has that name and the subquery scans
#	that table.  The database must have one partition of events only
#	(tests/checks/distribution.sh drops the others): each scan of events
#	is then one node, under the alias the query gives it, where an
#	Append over partitions would hide that alias from the plan.
#	It checks what Citus needs of joins and correlations, not every
#	rule of Citus's planner (outer joins with a reference table on the
#	outer side, for instance, Citus runs since 11.2).
#	Only the reports are planned: the statements of the programs
#	(pixelsrv's writer, beacon-milter's store, beaconctl, beacon-web)
#	and of the plpgsql functions of schema beacon are not checked.
#
# DIAGNOSTICS
#	Exit 0 when everything holds, 1 with the failures on stdout, 2 on a
#	usage or database error.
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

PSQL = os.path.join(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"), "psql")
VERBOSE = False

# the calls of 001_distribute.sql, one a line, at the start of the line
FORMS = {
    "reference": re.compile(r"SELECT create_reference_table\('beacon\.(\w+)'\);"),
    "distributed": re.compile(r"SELECT create_distributed_table\('beacon\.(\w+)', '(\w+)', "
                              r"colocate_with => '(none|beacon\.\w+)'\);"),
    "local": re.compile(r"SELECT citus_add_local_table_to_metadata\('beacon\.(\w+)'\);"),
    "trigger": re.compile(r"DROP TRIGGER (\w+) ON beacon\.(\w+);"),
    "fkey": re.compile(r"ALTER TABLE beacon\.(\w+) DROP CONSTRAINT (\w+);"),
    "policy": re.compile(r"DROP POLICY (\w+) ON beacon\.(\w+);"),
}
# lines that must be in one of the forms
CALL_START = re.compile(r"(SELECT (create_reference_table|create_distributed_table|"
                        r"citus_add_local_table_to_metadata)\b|DROP TRIGGER\b|DROP POLICY\b|"
                        r"ALTER TABLE beacon\.\w+ DROP CONSTRAINT\b)")

# nodes whose result is computed before it is joined further up
BOUNDARY = {"Aggregate", "WindowAgg", "Limit", "Unique", "Group", "SetOp",
            "Recursive Union", "CTE Scan"}
JOINS = {"Nested Loop", "Hash Join", "Merge Join"}
COND_KEYS = ("Hash Cond", "Merge Cond", "Join Filter", "Index Cond", "Recheck Cond",
             "Filter", "TID Cond", "Cache Key", "One-Time Filter")
EQUALITY = re.compile(r"\b([A-Za-z_]\w*)\.([A-Za-z_]\w*)\s*=\s*([A-Za-z_]\w*)\.([A-Za-z_]\w*)\b")
COLREF = re.compile(r"\b([A-Za-z_]\w*)\.([A-Za-z_]\w*)\b")
CTE_HEAD = re.compile(r"^(WITH|\),)(\s+\w+(?:\s*\([^)]*\))?\s+AS)\s+\(")

VARSETS = [
    {"q": "x", "address": "a@example.org"},
    {"q": "x", "message": "10000000-0000-4000-8000-000000000001"},
]


def psql(args, sql=None):
    """psql - run psql -X -At with ARGS (and SQL on -c); its stdout"""
    cmd = [PSQL, "-X", "-At", "-v", "ON_ERROR_STOP=1"] + args
    if sql is not None:
        cmd += ["-c", sql]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        sys.stderr.write(res.stderr)
        raise RuntimeError("psql failed: %s" % " ".join(args[-2:]))
    return res.stdout


def read_layout(path, fails):
    """read_layout - the lists of 001_distribute.sql"""
    lay = {"distributed": {}, "reference": set(), "local": set(), "trigger": set(),
           "fkey": set(), "policy": set(), "order": []}
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not CALL_START.match(line):
                continue
            for kind, rx in FORMS.items():
                m = rx.fullmatch(line)
                if m:
                    break
            else:
                fails.append("%s:%d: not in a form the check reads: %s" % (path, n, line))
                continue
            if kind == "distributed":
                colo = None if m.group(3) == "none" else m.group(3)[len("beacon."):]
                lay["distributed"][m.group(1)] = (m.group(2), colo)
            elif kind in ("reference", "local"):
                lay[kind].add(m.group(1))
            elif kind in ("trigger", "policy"):
                lay[kind].add((m.group(2), m.group(1)))
            else:
                lay["fkey"].add((m.group(1), m.group(2)))
            if kind in ("distributed", "reference", "local"):
                lay["order"].append((m.group(1), kind))
    return lay


CATALOG_SQL = r"""
WITH rel AS (
	SELECT c.oid, c.relname, c.relkind, c.relispartition,
	       CASE WHEN c.relispartition THEN pg_partition_root(c.oid) ELSE c.oid END AS root
	FROM pg_class c
	WHERE c.relnamespace = 'beacon'::regnamespace AND c.relkind IN ('r', 'p')
	  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
			  AND d.objid = c.oid AND d.deptype = 'e')
)
SELECT json_build_object(
	'tables', (SELECT json_agg(relname ORDER BY relname) FROM rel WHERE NOT relispartition),
	'partitions', (SELECT json_object_agg(r.relname, p.relname) FROM rel r
		       JOIN pg_class p ON p.oid = r.root WHERE r.relispartition),
	'columns', (SELECT json_object_agg(r.relname, (
			SELECT json_object_agg(a.attname, format_type(a.atttypid, a.atttypmod))
			FROM pg_attribute a WHERE a.attrelid = r.oid AND a.attnum > 0
			  AND NOT a.attisdropped))
		    FROM rel r WHERE NOT r.relispartition),
	'unique', (SELECT json_agg(json_build_object(
			'table', (SELECT relname FROM pg_class WHERE oid = r.root),
			'name', i.indexrelid::regclass::text,
			'def', pg_get_indexdef(i.indexrelid),
			'keys', (SELECT json_agg(a.attname ORDER BY k.n)
				 FROM unnest(i.indkey[0:i.indnkeyatts - 1]) WITH ORDINALITY AS k(attnum, n)
				 JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum)))
		   FROM pg_index i JOIN rel r ON r.oid = i.indrelid WHERE i.indisunique),
	'exclusion', (SELECT json_agg(json_build_object(
			'table', (SELECT relname FROM pg_class WHERE oid = r.root),
			'name', k.conname))
		      FROM pg_constraint k JOIN rel r ON r.oid = k.conrelid WHERE k.contype = 'x'),
	'fkeys', (SELECT json_agg(json_build_object(
			'table', (SELECT relname FROM pg_class WHERE oid = r.root),
			'name', k.conname,
			'ref', (SELECT relname FROM pg_class WHERE oid = rf.root),
			'cols', (SELECT json_agg(a.attname ORDER BY n) FROM unnest(k.conkey)
				 WITH ORDINALITY AS x(attnum, n)
				 JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = x.attnum),
			'refcols', (SELECT json_agg(a.attname ORDER BY n) FROM unnest(k.confkey)
				    WITH ORDINALITY AS x(attnum, n)
				    JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = x.attnum)))
		  FROM pg_constraint k JOIN rel r ON r.oid = k.conrelid
		  JOIN rel rf ON rf.oid = k.confrelid
		  WHERE k.contype = 'f' AND k.conparentid = 0),
	'triggers', (SELECT json_agg(json_build_object(
			'table', (SELECT relname FROM pg_class WHERE oid = r.root),
			'name', t.tgname))
		     FROM pg_trigger t JOIN rel r ON r.oid = t.tgrelid
		     WHERE NOT t.tgisinternal AND t.tgparentid = 0),
	'policies', (SELECT json_agg(json_build_object(
			'table', r.relname,
			'name', p.polname,
			'subquery', coalesce(p.polqual::text, '') LIKE '%{SUBLINK %'
				    OR coalesce(p.polwithcheck::text, '') LIKE '%{SUBLINK %'))
		     FROM pg_policy p JOIN rel r ON r.oid = p.polrelid WHERE NOT r.relispartition)
)
"""


def check_catalog(lay, cat, fails):
    """check_catalog - tables, keys, foreign keys, triggers against the lists"""
    dist = lay["distributed"]
    kind = {}
    for t in dist:
        kind.setdefault(t, []).append("distributed")
    for k in ("reference", "local"):
        for t in lay[k]:
            kind.setdefault(t, []).append(k)
    tables = set(cat["tables"] or [])
    cols = cat["columns"] or {}
    for t in sorted(tables):
        if t not in kind:
            fails.append("tables: beacon.%s is on no list of sql/citus/001_distribute.sql "
                         "(distributed by a column, reference, or local: add one line)" % t)
        elif len(kind[t]) > 1:
            fails.append("tables: beacon.%s is on several lists: %s" % (t, ", ".join(kind[t])))
    for t in sorted(kind):
        if t not in tables:
            fails.append("tables: sql/citus/001_distribute.sql places beacon.%s, "
                         "which the schema does not have" % t)
    for t, (col, colo) in sorted(dist.items()):
        if t in tables and col not in cols.get(t, {}):
            fails.append("tables: beacon.%s has no column %s to be distributed by" % (t, col))
        if colo is not None:
            if colo not in dist:
                fails.append("tables: beacon.%s is co-located with beacon.%s, "
                             "which is not distributed" % (t, colo))
            elif cols.get(t, {}).get(col) != cols.get(colo, {}).get(dist[colo][0]):
                fails.append("tables: beacon.%s.%s and beacon.%s.%s differ in type" %
                             (t, col, colo, dist[colo][0]))
    n = 0
    for u in cat["unique"] or []:
        if u["table"] in dist:
            n += 1
            col = dist[u["table"]][0]
            if col not in (u["keys"] or []):
                fails.append("keys: %s of distributed beacon.%s lacks its distribution "
                             "column %s: %s" % (u["name"], u["table"], col, u["def"]))
    for x in cat["exclusion"] or []:
        if x["table"] in dist:
            fails.append("keys: exclusion constraint %s on distributed beacon.%s" %
                         (x["name"], x["table"]))
    ok_unique = n

    def kind_of(t):
        return kind.get(t, ["?"])[0]
    fks = {(f["table"], f["name"]) for f in cat["fkeys"] or []}
    for f in cat["fkeys"] or []:
        a, b = kind_of(f["table"]), kind_of(f["ref"])
        if (f["table"], f["name"]) in lay["fkey"] or "?" in (a, b):
            continue	# dropped, or a table on no list (said above)
        good = False
        if a == "distributed" and b == "distributed":
            ca, cb = dist[f["table"]], dist[f["ref"]]
            same_group = (colocation_root(f["table"], dist) == colocation_root(f["ref"], dist))
            good = (same_group and ca[0] in f["cols"] and cb[0] in f["refcols"] and
                    f["cols"].index(ca[0]) == f["refcols"].index(cb[0]))
        elif b == "reference":
            good = a in ("distributed", "reference", "local")
        elif a == "local" and b == "local":
            good = True
        if not good:
            fails.append("foreign: %s of beacon.%s (%s) to beacon.%s (%s) is one Citus "
                         "cannot keep: drop it in sql/citus/001_distribute.sql" %
                         (f["name"], f["table"], a, f["ref"], b))
    for t, name in sorted(lay["fkey"]):
        if (t, name) not in fks:
            fails.append("foreign: sql/citus/001_distribute.sql drops %s of beacon.%s, "
                         "which does not exist" % (name, t))
    trigs = {(t["table"], t["name"]) for t in cat["triggers"] or []}
    for t, name in sorted(trigs):
        if kind_of(t) in ("distributed", "reference") and (t, name) not in lay["trigger"]:
            fails.append("triggers: %s on %s beacon.%s: Citus cannot keep it (see LIMITS in "
                         "sql/citus/001_distribute.sql); drop it there and say what does its "
                         "job" % (name, kind_of(t), t))
    for t, name in sorted(lay["trigger"]):
        if (t, name) not in trigs:
            fails.append("triggers: sql/citus/001_distribute.sql drops %s on beacon.%s, "
                         "which does not exist" % (name, t))
    pols = {(p["table"], p["name"]): p["subquery"] for p in cat["policies"] or []}
    for (t, name), sub in sorted(pols.items()):
        if sub and kind_of(t) != "?" and (t, name) not in lay["policy"]:
            fails.append("policies: %s on %s beacon.%s has a subquery, which Citus refuses "
                         "(\"Subqueries are not supported in policies\"): drop it in "
                         "sql/citus/001_distribute.sql and say what guards those rows" %
                         (name, kind_of(t), t))
    for t, name in sorted(lay["policy"]):
        if (t, name) not in pols:
            fails.append("policies: sql/citus/001_distribute.sql drops %s on beacon.%s, "
                         "which does not exist" % (name, t))
    return ok_unique


def colocation_root(t, dist):
    """colocation_root - the first table of T's co-location group"""
    seen = set()
    while dist.get(t, (None, None))[1] is not None and t not in seen:
        seen.add(t)
        t = dist[t][1]
    return t


def explain_file(src, dst):
    """explain_file - SRC with EXPLAIN before its query and its CTEs NOT MATERIALIZED"""
    out, done = [], False
    with open(src) as f:
        for line in f.read().split("\n"):
            s = line.strip()
            if not done and s and not s.startswith("--") and not s.startswith("\\"):
                out.append("EXPLAIN (VERBOSE, COSTS OFF, FORMAT JSON)")
                done = True
            if done:
                line = CTE_HEAD.sub(r"\1\2 NOT MATERIALIZED (", line)
            out.append(line)
    with open(dst, "w") as f:
        f.write("\n".join(out))


class Plan:
    """Plan - one EXPLAIN plan with the facts the rules need"""

    def __init__(self, root, partitions, dist):
        self.root = root
        self.dist = dist
        self.alias_rel = {}	# scan alias -> table (partitions: their root)
        self.subq = {}		# Subquery Scan alias -> node
        self._index(root, partitions)

    def _index(self, n, partitions):
        rel = n.get("Relation Name")
        if rel and n.get("Alias"):
            self.alias_rel[n["Alias"]] = partitions.get(rel, rel)
        if n["Node Type"] == "Subquery Scan" and n.get("Alias"):
            self.subq[n["Alias"]] = n
        for c in n.get("Plans", []):
            self._index(c, partitions)

    @staticmethod
    def children(n, subplans=False):
        """children - child nodes; SubPlans and InitPlans only when asked"""
        for c in n.get("Plans", []):
            if c.get("Parent Relationship") in ("SubPlan", "InitPlan") and not subplans:
                continue
            yield c

    def scans(self, n, through_boundary):
        """scans - aliases of the scans in N's subtree (not in its SubPlans)"""
        if not through_boundary and n["Node Type"] in BOUNDARY:
            return set()
        out = set()
        if n.get("Relation Name") and n.get("Alias"):
            out.add(n["Alias"])
        for c in self.children(n):
            out |= self.scans(c, through_boundary)
        return out

    def conds(self, n):
        """conds - every condition string in N's subtree (not in its SubPlans)"""
        out = [n[k] if isinstance(n[k], str) else " ".join(n[k]) for k in COND_KEYS if k in n]
        for c in self.children(n):
            out += self.conds(c)
        return out

    def has_boundary(self, n):
        """has_boundary - N or a node below it (not in SubPlans) is a boundary"""
        if n["Node Type"] in BOUNDARY:
            return True
        return any(self.has_boundary(c) for c in self.children(n))

    def dist_ref(self, alias, col, scope):
        """dist_ref - ALIAS.COL is the distribution column of a distributed table in SCOPE"""
        if alias not in scope:
            return None
        rel = self.alias_rel.get(alias)
        if rel in self.dist:
            return rel if col == self.dist[rel][0] else None
        sub = self.subq.get(alias)
        if sub is not None:
            for a in self.scans(sub, False):
                r = self.alias_rel.get(a)
                if r in self.dist and self.dist[r][0] == col:
                    return r
        return None

    def linked(self, conds, left, right):
        """linked - CONDS equate (through other columns, too) a distribution
        column of LEFT with one of RIGHT"""
        parent = {}

        def find(x):
            while parent.setdefault(x, x) != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x
        for c in conds:
            for a1, c1, a2, c2 in EQUALITY.findall(c):
                parent[find((a1, c1))] = find((a2, c2))
        lefts = {find(x) for x in list(parent) if self.dist_ref(x[0], x[1], left)}
        return any(find(x) in lefts for x in list(parent) if self.dist_ref(x[0], x[1], right))

    def distributed(self, aliases):
        """distributed - the distributed tables among ALIASES (subqueries count through)"""
        out = set()
        for a in aliases:
            if self.alias_rel.get(a) in self.dist:
                out.add(self.alias_rel[a])
        return out

    def check(self, where, fails):
        """check - apply both rules to every node; the number of joins checked"""
        return self._walk(self.root, where, fails)

    def _correlated(self, n, where, what, fails, outside):
        inside_all = self.scans(n, True)
        if not self.distributed(inside_all):
            return 0
        refs = {a for c in self.conds(n) for a, _ in COLREF.findall(c)}
        outer = {a for a in refs if a in outside and a not in inside_all}
        if not outer:
            return 0
        if not self.linked(self.conds(n), inside_all, outer):
            fails.append("reports: %s: %s over %s is correlated to %s, not by the "
                         "distribution column: %s" %
                         (where, what, ", ".join(sorted(self.distributed(inside_all))),
                          ", ".join(sorted(outer)), "; ".join(self.conds(n))[:400]))
        return 1

    def _walk(self, n, where, fails):
        checked = 0
        if n["Node Type"] in JOINS:
            kids = {c.get("Parent Relationship"): c for c in self.children(n)}
            left, right = kids.get("Outer"), kids.get("Inner")
            if left is not None and right is not None:
                dl, dr = self.scans(left, False), self.scans(right, False)
                if self.distributed(dl) and self.distributed(dr):
                    checked += 1
                    own = [n[k] for k in COND_KEYS if k in n]
                    if not self.linked(own + self.conds(left) + self.conds(right), dl, dr):
                        fails.append("reports: %s: %s of %s with %s not on the distribution "
                                     "column: %s" %
                                     (where, n["Node Type"], ", ".join(sorted(self.distributed(dl))),
                                      ", ".join(sorted(self.distributed(dr))),
                                      "; ".join(own + self.conds(right))[:400]))
                if n["Node Type"] == "Nested Loop" and self.has_boundary(right):
                    checked += self._correlated(right, where, "lateral subquery", fails,
                                                self.scans(left, True))
        for c in n.get("Plans", []):
            if c.get("Parent Relationship") == "SubPlan":
                checked += self._correlated(c, where, c.get("Subplan Name", "SubPlan"), fails,
                                            set(self.alias_rel))
            checked += self._walk(c, where, fails)
        return checked


# the variables a report may leave set (unset between two runs, as
# tests/sql/report.psql does)
REPORT_VARS = ("message", "message_id", "campaign", "sender", "since", "until", "classes",
               "by", "tz", "address", "q", "limit", "late", "period", "point_of_sale",
               "source", "latest")


def check_reports(src, cat, lay, fails):
    """check_reports - the plans of every report under each set of variables"""
    parts = cat["partitions"] or {}
    tmp = tempfile.mkdtemp(prefix="distcheck.")
    nplans = njoins = 0
    try:
        rdir = os.path.join(src, "sql", "reports")
        names = sorted(f for f in os.listdir(rdir) if f.endswith(".sql"))
        for f in os.listdir(rdir):
            if f.endswith(".psql"):
                shutil.copy(os.path.join(rdir, f), tmp)
        runs, driver = [], []
        for name in names:
            explain_file(os.path.join(rdir, name), os.path.join(tmp, name))
            for vs in VARSETS:
                out = os.path.join(tmp, "plan%d.json" % len(runs))
                where = "%s (%s)" % (name, " ".join("%s=%s" % kv for kv in vs.items()))
                runs.append((where, out))
                driver += ["\\set %s '%s'" % kv for kv in vs.items()]
                driver += ["\\o %s" % out, "\\ir %s" % name, "\\o"]
                driver += ["\\unset %s" % v for v in REPORT_VARS]
        with open(os.path.join(tmp, "driver.psql"), "w") as f:
            f.write("\n".join(driver) + "\n")
        psql(["-f", os.path.join(tmp, "driver.psql")])
        for where, out in runs:
            with open(out) as f:
                plan = Plan(json.loads(f.read())[0]["Plan"], parts, lay["distributed"])
            j = plan.check(where, fails)
            nplans += 1
            njoins += j
            if VERBOSE:
                print("# %s: %d joins or correlations checked" % (where, j))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return len(names), nplans, njoins


def main(argv):
    global VERBOSE
    args = argv[1:]
    if args and args[0] == "-v":
        VERBOSE = True
        args = args[1:]
    parts = ("catalog", "reports")
    if args and args[0] in ("--catalog", "--reports"):
        parts = (args[0][2:],)
        args = args[1:]
    if len(args) != 1:
        sys.stderr.write("usage: distcheck.py [-v] [--catalog | --reports] SRC\n")
        return 2
    src = args[0]
    fails = []
    nuniq = nrep = nplans = njoins = 0
    try:
        lay = read_layout(os.path.join(src, "sql", "citus", "001_distribute.sql"), fails)
        cat = json.loads(psql([], CATALOG_SQL))
        if "catalog" in parts:
            nuniq = check_catalog(lay, cat, fails)
        if "reports" in parts:
            nrep, nplans, njoins = check_reports(src, cat, lay, fails)
    except (OSError, RuntimeError, ValueError, KeyError) as e:
        sys.stderr.write("distcheck: %s\n" % e)
        return 2
    for f in fails:
        print("FAIL " + f)
    print("# %d tables: %d distributed, %d reference, %d local; %d unique indexes of "
          "distributed tables; %d reports, %d plans, %d joins and correlations between "
          "distributed tables" %
          (len(cat["tables"] or []), len(lay["distributed"]), len(lay["reference"]),
           len(lay["local"]), nuniq, nrep, nplans, njoins))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
