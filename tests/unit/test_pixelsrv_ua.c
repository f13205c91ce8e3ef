/*
 * NAME
 *	test_pixelsrv_ua.c - unit tests of pixelsrv/ua.c (User-Agent classification)
 *
 * DESCRIPTION
 *	Real mail-client User-Agents with their exact device, OS, browser,
 *	client and proxy flag; NULL, empty, control bytes and 10 KB UAs; the
 *	cache under several threads; load errors; and uap-core's own test
 *	cases (tests/ and test_resources/ beside regexes.yaml), which prove
 *	the uap-core specification is implemented.
 *
 *	UAP_REGEXES	regexes.yaml (default /usr/share/uap-core/regexes.yaml)
 *	BEACON_SRC	the source tree holding pixelsrv/mail-clients.yaml (".")
 *	UA_UAP_SAMPLE	uap-core cases checked per file (default 0: all of them)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#include "ua.h"

static struct ua_db *db;
static char regexes[PATH_MAX];
static char rules[PATH_MAX];

/* ua_case - one UA and what ua_parse must say */
struct ua_case {
	const char *ua;
	const char *device, *os, *browser, *client;
	int proxy;
};

static const struct ua_case cases[] = {
	/* Mail on iPhone and iPad */
	{ "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
	  "mobile", "iOS 17", "Mobile Safari UI/WKWebView", "iOS Mail", 0 },
	{ "Mozilla/5.0 (iPhone; CPU iPhone OS 16_6_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
	  "mobile", "iOS 16", "Mobile Safari UI/WKWebView", "iOS Mail", 0 },
	{ "Mozilla/5.0 (iPad; CPU OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
	  "tablet", "iOS 17", "Mobile Safari UI/WKWebView", "iOS Mail", 0 },
	/* Apple Mail on macOS */
	{ "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)",
	  "desktop", "Mac OS X 10.15", "Apple Mail 605", "Apple Mail", 0 },
	/* Outlook for Windows */
	{ "Mozilla/4.0 (compatible; ms-office; MSOffice 16)",
	  "desktop", "", "Outlook 2016", "Outlook", 0 },
	{ "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17029; Pro)",
	  "desktop", "Windows 10", "Outlook 2016", "Outlook", 0 },
	{ "Mozilla/4.0 (compatible; MSIE 7.0; Windows NT 10.0; WOW64; Trident/7.0; .NET4.0C; .NET4.0E; .NET CLR 2.0.50727; Microsoft Outlook 16.0.4266; ms-office; MSOffice 16)",
	  "desktop", "Windows 10", "Outlook 2016", "Outlook", 0 },
	/* Thunderbird */
	{ "Mozilla/5.0 (X11; Linux x86_64; rv:115.0) Gecko/20100101 Thunderbird/115.5.0",
	  "desktop", "Linux", "Thunderbird 115", "Thunderbird", 0 },
	{ "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:115.0) Gecko/20100101 Thunderbird/115.5.0",
	  "desktop", "Windows 10", "Thunderbird 115", "Thunderbird", 0 },
	/* image proxies: the UA is the proxy's, not the reader's */
	{ "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)",
	  "", "", "", "Gmail image proxy", 1 },
	{ "YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html",
	  "", "", "", "Yahoo Mail proxy", 1 },
	/* webmail in a browser */
	{ "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
	  "desktop", "Windows 10", "Chrome 120", "Webmail (Chrome)", 0 },
	{ "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91",
	  "desktop", "Windows 10", "Edge 120", "Webmail (Edge)", 0 },
	{ "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
	  "desktop", "Linux", "Firefox 121", "Webmail (Firefox)", 0 },
	{ "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15",
	  "desktop", "Mac OS X 10.15", "Safari 17", "Webmail (Safari)", 0 },
	{ "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
	  "mobile", "iOS 17", "Mobile Safari 17", "Webmail (Mobile Safari)", 0 },
	/* Samsung phone and tablet, Android mail app in a WebView */
	{ "Mozilla/5.0 (Linux; Android 13; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36",
	  "mobile", "Android 13", "Chrome Mobile 120", "Webmail (Chrome Mobile)", 0 },
	{ "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
	  "tablet", "Android 13", "Chrome 120", "Webmail (Chrome)", 0 },
	{ "Mozilla/5.0 (Linux; Android 13; SM-S901B Build/TP1A.220624.014; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/118.0.0.0 Mobile Safari/537.36",
	  "mobile", "Android 13", "Chrome Mobile WebView 118", "Android mail app", 0 },
	/* a crawler, and a UA that says nothing */
	{ "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
	  "bot", "", "Googlebot 2", "", 0 },
	{ "Mozilla/5.0", "", "", "", "", 0 },
};

/* check - assert that UA classifies as C */
static void
check(const struct ua_case *c)
{
	struct ua_info info;

	ua_parse(db, c->ua, &info);
	if (strcmp(info.device, c->device) != 0 || strcmp(info.os, c->os) != 0 ||
	    strcmp(info.browser, c->browser) != 0 ||
	    strcmp(info.client, c->client) != 0 || info.proxy != c->proxy)
		print_error("UA %s\n got device=\"%s\" os=\"%s\" browser=\"%s\" "
		    "client=\"%s\" proxy=%d\n", c->ua, info.device, info.os,
		    info.browser, info.client, info.proxy);
	assert_string_equal(info.device, c->device);
	assert_string_equal(info.os, c->os);
	assert_string_equal(info.browser, c->browser);
	assert_string_equal(info.client, c->client);
	assert_int_equal(info.proxy, c->proxy);
}

/* test_mail_clients - every case, cold and then from the cache */
static void
test_mail_clients(void **state)
{
	size_t i, pass;

	(void)state;
	for (pass = 0; pass < 2; pass++)
		for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
			check(&cases[i]);
}

/* test_empty - NULL and empty UAs and a NULL db give empty results */
static void
test_empty(void **state)
{
	struct ua_info info;

	(void)state;
	memset(&info, 'x', sizeof(info));
	ua_parse(db, NULL, &info);
	assert_string_equal(info.device, "");
	assert_string_equal(info.os, "");
	assert_string_equal(info.browser, "");
	assert_string_equal(info.client, "");
	assert_int_equal(info.proxy, 0);
	memset(&info, 'x', sizeof(info));
	ua_parse(db, "", &info);
	assert_string_equal(info.device, "");
	assert_string_equal(info.client, "");
	assert_int_equal(info.proxy, 0);
	memset(&info, 'x', sizeof(info));
	ua_parse(NULL, cases[0].ua, &info);
	assert_string_equal(info.browser, "");
	assert_string_equal(info.client, "");
}

/* test_long - a 10 KB UA is classified by its first UA_MAXLEN bytes */
static void
test_long(void **state)
{
	static const char chrome[] = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) "
	    "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 ";
	size_t len = 10 * 1024, pre = sizeof(chrome) - 1;
	struct ua_info a, b;
	char *ua;

	(void)state;
	assert_non_null(ua = malloc(len + 1));
	/* the browser within the first 512 bytes, 10 KB of filler after */
	memcpy(ua, chrome, pre);
	memset(ua + pre, 'A', len - pre);
	ua[len] = '\0';
	ua_parse(db, ua, &a);
	assert_string_equal(a.device, "desktop");
	assert_string_equal(a.os, "Windows 10");
	assert_string_equal(a.browser, "Chrome 120");
	assert_string_equal(a.client, "Webmail (Chrome)");
	/* a UA differing only after byte 512 is the same UA */
	ua[len - 1] = 'B';
	ua_parse(db, ua, &b);
	assert_memory_equal(&a, &b, sizeof(a));
	/* the browser beyond the first 512 bytes is not seen */
	memset(ua, 'A', len);
	memcpy(ua + 600, chrome, pre);
	ua_parse(db, ua, &a);
	assert_string_equal(a.device, "");
	assert_string_equal(a.os, "");
	assert_string_equal(a.browser, "");
	assert_string_equal(a.client, "");
	/* 10 KB of bytes of every value */
	for (size_t i = 0; i < len; i++)
		ua[i] = (char)(1 + i % 255);
	ua_parse(db, ua, &a);
	assert_int_equal(a.proxy, 0);
	free(ua);
}

/* utf8_ok - is S valid UTF-8 without control characters? */
static int
utf8_ok(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, k, len;

	while (u[i]) {
		if (u[i] < 0x20 || u[i] == 0x7f)
			return 0;
		len = u[i] < 0x80 ? 1 : u[i] >= 0xc2 && u[i] <= 0xdf ? 2 :
		    u[i] >= 0xe0 && u[i] <= 0xef ? 3 : u[i] >= 0xf0 && u[i] <= 0xf4 ? 4 : 0;
		if (len == 0)
			return 0;
		for (k = 1; k < len; k++)
			if ((u[i + k] & 0xc0) != 0x80)
				return 0;
		i += len;
	}
	return 1;
}

/* test_clean - captured bytes come out as valid UTF-8 without controls */
static void
test_clean(void **state)
{
	struct ua_info info;
	struct ua_uap u;

	(void)state;
	/* uap-core's CFNetwork catch-all captures the app name */
	ua_parse_uap(db, "Mail\xff\x01\xc3x/12 CFNetwork/1410.0.3 Darwin/22.6.0", &u);
	assert_string_equal(u.family, "Mail???x");
	assert_string_equal(u.major, "12");
	ua_parse(db, "Mail\xff\x01\xc3x/12 CFNetwork/1410.0.3 Darwin/22.6.0", &info);
	assert_true(utf8_ok(info.browser));
	assert_string_equal(info.browser, "Mail???x 12");
	/* valid UTF-8 from a replacement stays as it is */
	ua_parse_uap(db, "Mozilla/5.0 (Windows NT 10.0) AppleWebKit/537.36 (KHTML, like Gecko) "
	    "Chrome/58.0.3029.110 Safari/537.36 SznProhlizec/4.3.0-251281", &u);
	assert_string_equal(u.family, "Seznam prohl\xc3\xad\xc5\xbe\x65\xc4\x8d");
}

#define PAR_VARIANTS 8	/* suffixes per case in test_threads */
#define PAR_N (sizeof(cases) / sizeof(cases[0]) * PAR_VARIANTS)

static char par_ua[PAR_N][320];		/* the UAs the threads classify */
static struct ua_info par_want[PAR_N];	/* their answers from a private db */

/* par_arg - one thread's share of test_threads */
struct par_arg {
	size_t start;	/* first UA */
	int bad;	/* results that differed from par_want */
};

/* par_run - classify every UA, cold and cached, and count wrong results */
static void *
par_run(void *p)
{
	struct par_arg *a = p;
	struct ua_info info;
	size_t i, k;

	for (i = 0; i < 4 * PAR_N; i++) {
		k = (a->start + i * 7) % PAR_N;
		ua_parse(db, par_ua[k], &info);
		if (memcmp(&info, &par_want[k], sizeof(info)) != 0)
			a->bad++;
	}
	return NULL;
}

/* test_threads - four threads share the db and its cache, cold and warm */
static void
test_threads(void **state)
{
	const size_t n = sizeof(cases) / sizeof(cases[0]);
	struct par_arg args[4];
	struct ua_db *priv;
	pthread_t th[4];
	char err[256];
	size_t k;
	int i;

	(void)state;
	assert_non_null(priv = ua_open(regexes, rules, err, sizeof(err)));
	for (k = 0; k < PAR_N; k++) {
		snprintf(par_ua[k], sizeof(par_ua[k]), "%s%s%zu", cases[k % n].ua,
		    k / n ? " x/" : "", k / n);
		ua_parse(priv, par_ua[k], &par_want[k]);
	}
	ua_close(priv);
	memset(args, 0, sizeof(args));
	for (i = 0; i < 4; i++) {
		args[i].start = (size_t)i * PAR_N / 4;
		assert_int_equal(pthread_create(&th[i], NULL, par_run, &args[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(args[i].bad, 0);
	}
	/* the first variant of every case is the case itself */
	for (k = 0; k < n; k++)
		check(&cases[k]);
}

/* write_file - a temporary file holding TEXT; its path in PATH */
static void
write_file(char *path, size_t len, const char *text)
{
	FILE *fp;
	int fd;

	snprintf(path, len, "/tmp/test_pixelsrv_ua.XXXXXX");
	assert_true((fd = mkstemp(path)) >= 0);
	assert_non_null(fp = fdopen(fd, "w"));
	fputs(text, fp);
	assert_int_equal(fclose(fp), 0);
}

/* open_err - ua_open with RULES text must fail with an error holding WANT */
static void
open_err(const char *rules_text, const char *want)
{
	char path[64], err[256] = "";
	struct ua_db *d;

	write_file(path, sizeof(path), rules_text);
	d = ua_open(regexes, path, err, sizeof(err));
	unlink(path);
	if (d != NULL)
		ua_close(d);
	assert_null(d);
	if (strstr(err, want) == NULL)
		print_error("error \"%s\" lacks \"%s\"\n", err, want);
	assert_non_null(strstr(err, want));
}

/* test_open_errors - bad files are refused with file, line and reason */
static void
test_open_errors(void **state)
{
	char err[256] = "", path[64];
	struct ua_db *d;
	struct ua_info info;

	(void)state;
	assert_null(ua_open("/nonexistent/regexes.yaml", rules, err, sizeof(err)));
	assert_non_null(strstr(err, "/nonexistent/regexes.yaml: No such file"));
	assert_null(ua_open(regexes, "/nonexistent/mc.yaml", err, sizeof(err)));
	assert_non_null(strstr(err, "/nonexistent/mc.yaml: No such file"));
	open_err("mail_clients:\n  - client: X\n    regex: 'a(b'\n", ":3: regex: missing closing parenthesis");
	open_err("mail_clients:\n  - client: X\n    regexp: 'ab'\n", ":2: unknown key \"regexp\"");
	open_err("mail_clients:\n  - client: X\n    regex: 'ab'\n    class: spam\n", ":4: class must be proxy");
	open_err("mail_clients:\n  - regex: 'ab'\n", ":2: rule without client");
	open_err("mail_clients:\n  - client: X\n", "has no regex, browser or os");
	open_err("mail_clients: [\n", "did not find expected node content");
	open_err("other: []\n", "no list \"mail_clients\"");
	open_err("mail_clients:\n  - client: X\n    browser: []\n", ":3: empty list");
	/* a uap-core file with a bad regex_flag */
	write_file(path, sizeof(path), "user_agent_parsers:\n  - regex: 'x'\n"
	    "    regex_flag: 'g'\nos_parsers: []\ndevice_parsers: []\n");
	assert_null(ua_open(path, rules, err, sizeof(err)));
	assert_non_null(strstr(err, ":3: regex_flag must be 'i'"));
	unlink(path);
	/* a minimal valid pair: $1..$9, trimming, regex_flag and rule fields */
	write_file(path, sizeof(path),
	    "user_agent_parsers:\n"
	    "  - regex: '(Foo)(?:/(\\d+)|)'\n"
	    "    family_replacement: ' $1 Bar$9 '\n"
	    "os_parsers:\n"
	    "  - regex: 'quux(\\d)'\n"
	    "    regex_flag: 'i'\n"
	    "    os_replacement: 'Quux'\n"
	    "    os_v1_replacement: '$1'\n"
	    "device_parsers:\n"
	    "  - regex: '(Zed) (\\w+)'\n"
	    "    device_replacement: '$1 $2'\n"
	    "    brand_replacement: '$1'\n");
	{
		char rpath[64];
		write_file(rpath, sizeof(rpath),
		    "mail_clients:\n"
		    "  - client: 'Mail for $browser'\n"
		    "    browser: [Nope, Foo Bar]\n"
		    "    os: Quux\n"
		    "    device: mobile\n");
		assert_non_null(d = ua_open(path, rpath, err, sizeof(err)));
		unlink(rpath);
	}
	unlink(path);
	ua_parse(d, "Foo/7 QUUX3 Zed Phone", &info);
	assert_string_equal(info.browser, "Foo Bar 7");	/* family, then $2 */
	assert_string_equal(info.os, "Quux 3");
	assert_string_equal(info.client, "Mail for Foo Bar");
	assert_string_equal(info.device, "mobile");
	{
		struct ua_uap u;
		ua_parse_uap(d, "Foo/7 QUUX3 Zed Phone", &u);
		assert_string_equal(u.major, "7");
		assert_string_equal(u.device, "Zed Phone");
		assert_string_equal(u.brand, "Zed");
		assert_string_equal(u.model, "Zed");
		ua_parse_uap(d, "Foo quux", &u);
		assert_string_equal(u.family, "Foo Bar");
		assert_string_equal(u.major, "");
		assert_string_equal(u.os, "Other");
		assert_string_equal(u.device, "Other");
		assert_string_equal(u.brand, "");
	}
	ua_parse(d, "Foo/7 Zed Phone", &info);	/* os condition fails */
	assert_string_equal(info.client, "");
	ua_close(d);
}

/* uap_file - the test file REL beside regexes.yaml */
static void
uap_file(char *path, size_t len, const char *rel)
{
	const char *slash = strrchr(regexes, '/');
	int dir = slash ? (int)(slash - regexes) : 1;

	snprintf(path, len, "%.*s/%s", dir, slash ? regexes : ".", rel);
}

/* field - the text of KEY in the test case mapping M: "" for null, NULL if absent */
static const char *
field(yaml_document_t *doc, yaml_node_t *m, const char *key)
{
	yaml_node_pair_t *p;
	yaml_node_t *k, *v;
	const char *s;

	for (p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
		k = yaml_document_get_node(doc, p->key);
		if (strcmp((char *)k->data.scalar.value, key) != 0)
			continue;
		v = yaml_document_get_node(doc, p->value);
		if (v->type != YAML_SCALAR_NODE)
			return "";
		s = (const char *)v->data.scalar.value;
		if (v->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
		    (strcmp(s, "~") == 0 || strcmp(s, "null") == 0))
			return "";
		return s;
	}
	return NULL;
}

enum { T_UA, T_OS, T_DEV };

/* run_uap - compare the uap-core cases of REL with ua_parse_uap */
static void
run_uap(const char *rel, int kind)
{
	static const char *const keys[3][5] = {
		{ "family", "major", "minor", "patch", NULL },	/* as uap-core's test.js */
		{ "family", "major", "minor", "patch", "patch_minor" },
		{ "family", "brand", "model", NULL, NULL },
	};
	char path[PATH_MAX];
	yaml_parser_t p;
	yaml_document_t doc;
	yaml_node_t *root, *seq = NULL, *m;
	yaml_node_pair_t *pr;
	yaml_node_item_t *it;
	struct ua_uap u;
	const char *got[5], *want, *ua;
	const char *env = getenv("UA_UAP_SAMPLE");
	long sample = env ? atol(env) : 0, total, step, i, checked = 0, bad = 0;
	FILE *fp;
	int f;

	uap_file(path, sizeof(path), rel);
	if ((fp = fopen(path, "rb")) == NULL) {
		print_error("%s: cannot open\n", path);
		fail();
	}
	assert_true(yaml_parser_initialize(&p));
	yaml_parser_set_input_file(&p, fp);
	assert_true(yaml_parser_load(&p, &doc));
	yaml_parser_delete(&p);
	fclose(fp);
	assert_non_null(root = yaml_document_get_root_node(&doc));
	for (pr = root->data.mapping.pairs.start; pr < root->data.mapping.pairs.top; pr++)
		if (strcmp((char *)yaml_document_get_node(&doc, pr->key)->data.scalar.value,
		    "test_cases") == 0)
			seq = yaml_document_get_node(&doc, pr->value);
	assert_non_null(seq);
	total = seq->data.sequence.items.top - seq->data.sequence.items.start;
	assert_true(total > 0);
	step = sample <= 0 || sample >= total ? 1 : total / sample;
	for (i = 0; i < total; i += step) {
		it = seq->data.sequence.items.start + i;
		m = yaml_document_get_node(&doc, *it);
		if ((ua = field(&doc, m, "user_agent_string")) == NULL)
			fail_msg("%s #%ld: no user_agent_string", rel, i);
		ua_parse_uap(db, ua, &u);
		if (kind == T_UA) {
			got[0] = u.family, got[1] = u.major, got[2] = u.minor;
			got[3] = u.patch, got[4] = u.patch_minor;
		} else if (kind == T_OS) {
			got[0] = u.os, got[1] = u.os_major, got[2] = u.os_minor;
			got[3] = u.os_patch, got[4] = u.os_patch_minor;
		} else {
			got[0] = u.device, got[1] = u.brand, got[2] = u.model;
		}
		checked++;
		for (f = 0; f < 5 && keys[kind][f] != NULL; f++) {
			/* a case without a key (e.g. patch_minor) does not check it */
			if ((want = field(&doc, m, keys[kind][f])) == NULL)
				continue;
			if (strcmp(got[f], want) != 0) {
				if (bad++ < 10)
					print_error("%s #%ld %s: %s: got \"%s\" want \"%s\"\n",
					    rel, i, ua, keys[kind][f], got[f], want);
				break;
			}
		}
	}
	yaml_document_delete(&doc);
	print_message("%s: %ld of %ld cases checked, %ld wrong\n", rel, checked,
	    total, bad);
	assert_int_equal(bad, 0);
}

/* test_uap_ua - uap-core user_agent_parsers cases */
static void
test_uap_ua(void **state)
{
	(void)state;
	run_uap("tests/test_ua.yaml", T_UA);
	run_uap("test_resources/firefox_user_agent_strings.yaml", T_UA);
	run_uap("test_resources/pgts_browser_list.yaml", T_UA);
	run_uap("test_resources/opera_mini_user_agent_strings.yaml", T_UA);
	run_uap("test_resources/podcasting_user_agent_strings.yaml", T_UA);
}

/* test_uap_os - uap-core os_parsers cases */
static void
test_uap_os(void **state)
{
	(void)state;
	run_uap("tests/test_os.yaml", T_OS);
	run_uap("test_resources/additional_os_tests.yaml", T_OS);
}

/* test_uap_device - uap-core device_parsers cases */
static void
test_uap_device(void **state)
{
	(void)state;
	run_uap("tests/test_device.yaml", T_DEV);
}

/* setup - open the db from UAP_REGEXES and BEACON_SRC */
static int
setup(void **state)
{
	const char *r = getenv("UAP_REGEXES"), *src = getenv("BEACON_SRC");
	char err[512];

	(void)state;
	snprintf(regexes, sizeof(regexes), "%s", r && *r ? r : "/usr/share/uap-core/regexes.yaml");
	snprintf(rules, sizeof(rules), "%s/pixelsrv/mail-clients.yaml", src && *src ? src : ".");
	if ((db = ua_open(regexes, rules, err, sizeof(err))) == NULL) {
		fprintf(stderr, "ua_open: %s\n", err);
		return -1;
	}
	return 0;
}

/* teardown - close the db */
static int
teardown(void **state)
{
	(void)state;
	ua_close(db);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mail_clients),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_long),
		cmocka_unit_test(test_clean),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_uap_ua),
		cmocka_unit_test(test_uap_os),
		cmocka_unit_test(test_uap_device),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
