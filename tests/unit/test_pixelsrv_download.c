/*
 * test_pixelsrv_download.c - unit tests of pixelsrv/download.c: the
 * attachment number of a path, Range headers (each form, clamping,
 * unsatisfiable, several ranges, hostile numbers and syntax), manifest
 * lines (every rule of download.h), the Content-Type mapping of active
 * content, the Content-Disposition of hostile and UTF-8 names, and
 * download_open() on a store written here (symlinks refused, size
 * checked).
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "download.h"

#define SHA "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

/* test_parse_n - 1..999999, digits only, no leading zero */
static void test_parse_n(void **state)
{
	(void)state;
	assert_int_equal(download_parse_n("1", 1), 1);
	assert_int_equal(download_parse_n("999999", 6), 999999);
	assert_int_equal(download_parse_n("1000000", 7), 0);
	assert_int_equal(download_parse_n("0", 1), 0);
	assert_int_equal(download_parse_n("01", 2), 0);
	assert_int_equal(download_parse_n("", 0), 0);
	assert_int_equal(download_parse_n("1a", 2), 0);
	assert_int_equal(download_parse_n("-1", 2), 0);
	assert_int_equal(download_parse_n("99999999999999999999999", 23), 0);
	assert_int_equal(download_parse_n(NULL, 0), 0);
}

/* range_case - one Range header against a size */
struct range_case {
	const char *hdr;		/* the header, NULL for none */
	uint64_t size;			/* file size */
	enum download_range_kind kind;	/* expected */
	uint64_t first, len;		/* expected for DOWNLOAD_PART */
};

static const struct range_case ranges[] = {
	{ NULL, 100, DOWNLOAD_WHOLE, 0, 100 },
	{ "bytes=0-9", 100, DOWNLOAD_PART, 0, 10 },
	{ "bytes=10-", 100, DOWNLOAD_PART, 10, 90 },
	{ "bytes=-10", 100, DOWNLOAD_PART, 90, 10 },
	{ "bytes=-1000", 100, DOWNLOAD_PART, 0, 100 },
	{ "bytes=99-99", 100, DOWNLOAD_PART, 99, 1 },
	{ "bytes=90-1000", 100, DOWNLOAD_PART, 90, 10 },
	{ "BYTES=0-0", 100, DOWNLOAD_PART, 0, 1 },
	{ "bytes= 5-6 ", 100, DOWNLOAD_PART, 5, 2 },
	{ "bytes=0-99999999999999999999999999999", 100, DOWNLOAD_PART, 0, 100 },
	{ "bytes=0-18446744073709551615", 100, DOWNLOAD_PART, 0, 100 },
	{ "bytes=-18446744073709551616", 100, DOWNLOAD_PART, 0, 100 },
	{ "bytes=100-", 100, DOWNLOAD_UNSATISFIABLE, 0, 0 },
	{ "bytes=100-200", 100, DOWNLOAD_UNSATISFIABLE, 0, 0 },
	{ "bytes=99999999999999999999999-", 100, DOWNLOAD_UNSATISFIABLE, 0, 0 },
	{ "bytes=-0", 100, DOWNLOAD_UNSATISFIABLE, 0, 0 },
	{ "bytes=0-0", 0, DOWNLOAD_UNSATISFIABLE, 0, 0 },
	{ "bytes=-5", 0, DOWNLOAD_UNSATISFIABLE, 0, 0 },
	/* several ranges: the whole file */
	{ "bytes=0-1,5-6", 100, DOWNLOAD_WHOLE, 0, 100 },
	{ "bytes=0-1, 200-300", 100, DOWNLOAD_WHOLE, 0, 100 },
	/* malformed, other units: ignored */
	{ "bytes=5-3", 100, DOWNLOAD_WHOLE, 0, 100 },
	{ "bytes=-", 100, DOWNLOAD_WHOLE, 0, 100 },
	{ "bytes=", 100, DOWNLOAD_WHOLE, 0, 100 },
	{ "bytes=abc", 100, DOWNLOAD_WHOLE, 0, 100 },
	{ "bytes=1", 100, DOWNLOAD_WHOLE, 0, 100 },
	{ "bytes=+1-2", 100, DOWNLOAD_WHOLE, 0, 100 },
	{ "bytes=1-+2", 100, DOWNLOAD_WHOLE, 0, 100 },
	{ "bytes=0x10-20", 100, DOWNLOAD_WHOLE, 0, 100 },
	{ "bytes=--5", 100, DOWNLOAD_WHOLE, 0, 100 },
	{ "bytes=1-2-3", 100, DOWNLOAD_WHOLE, 0, 100 },
	{ "bytes=1 -2", 100, DOWNLOAD_WHOLE, 0, 100 },
	{ "bytes=\r\n0-1", 100, DOWNLOAD_WHOLE, 0, 100 },
	{ "items=0-1", 100, DOWNLOAD_WHOLE, 0, 100 },
	{ "bytes 0-1", 100, DOWNLOAD_WHOLE, 0, 100 },
	{ "", 100, DOWNLOAD_WHOLE, 0, 100 },
};

/* test_range - every case of the table */
static void test_range(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
		const struct range_case *c = &ranges[i];
		uint64_t first = 42, len = 42;
		enum download_range_kind k = download_range(c->hdr, c->size, &first, &len);
		if (k != c->kind)
			fail_msg("Range '%s' of %llu: kind %d, expected %d", c->hdr ? c->hdr : "(none)",
			    (unsigned long long)c->size, k, c->kind);
		if (k != DOWNLOAD_UNSATISFIABLE && (first != c->first || len != c->len))
			fail_msg("Range '%s' of %llu: %llu+%llu, expected %llu+%llu",
			    c->hdr ? c->hdr : "(none)", (unsigned long long)c->size,
			    (unsigned long long)first, (unsigned long long)len,
			    (unsigned long long)c->first, (unsigned long long)c->len);
	}
}

/* test_manifest - the rules of a line */
static void test_manifest(void **state)
{
	struct download_entry e;
	const char *m;

	(void)state;
	m = "1\t" SHA "\t5\t1700000000\tapplication/pdf\treport%20Q3.pdf\n"
	    "2\t" SHA "\t12\t0\ttext/html\t%C3%A9t%C3%A9%20%E2%80%AEfdp.exe\n";
	assert_int_equal(download_manifest_find(m, strlen(m), 1, &e), 0);
	assert_int_equal(e.n, 1);
	assert_string_equal(e.sha256, SHA);
	assert_true(e.size == 5 && e.expires == 1700000000);
	assert_string_equal(e.type, "application/pdf");
	assert_string_equal(e.name, "report Q3.pdf");
	assert_int_equal(download_manifest_find(m, strlen(m), 2, &e), 0);
	assert_string_equal(e.name, "\xc3\xa9t\xc3\xa9 _fdp.exe");	/* bidi override gone */
	assert_int_equal(download_manifest_find(m, strlen(m), 3, &e), -1);
	/* a last line without its newline still counts */
	m = "3\t" SHA "\t0\t0\t\ta";
	assert_int_equal(download_manifest_find(m, strlen(m), 3, &e), 0);
	assert_true(e.size == 0);
	assert_string_equal(e.type, "");
	/* lines that break a rule are skipped; the first good one wins */
	m = "1\t" SHA "\t5\t0\ttext/plain\ta\textra\n"		/* seven fields */
	    "1\t" SHA "\t5\t0\ttext/plain\n"			/* five */
	    "01\t" SHA "\t5\t0\ttext/plain\ta\n"		/* leading zero */
	    "1\t" "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08" "\t5\t0\tx/y\ta\n"
	    "1\t../../etc/passwd\t5\t0\tx/y\ta\n"
	    "1\t" SHA "\t-5\t0\tx/y\ta\n"
	    "1\t" SHA "\t99999999999999999999\t0\tx/y\ta\n"	/* over 2^53 */
	    "1\t" SHA "\t5\tsoon\tx/y\ta\n"
	    "\n\t\t\t\t\t\n"
	    "1\t" SHA "\t7\t0\ttext/plain\tgood\n"
	    "1\t" SHA "\t8\t0\ttext/plain\tlater\n";
	assert_int_equal(download_manifest_find(m, strlen(m), 1, &e), 0);
	assert_true(e.size == 7);
	assert_string_equal(e.name, "good");
	/* an unusable type or name is dropped, the line kept */
	m = "4\t" SHA "\t1\t0\ttext/plain\r\tbad%zzname\n";
	assert_int_equal(download_manifest_find(m, strlen(m), 4, &e), 0);
	assert_string_equal(e.type, "");
	assert_string_equal(e.name, "");
	m = "4\t" SHA "\t1\t0\tx/y\t%ff%fe\n";	/* not UTF-8 */
	assert_int_equal(download_manifest_find(m, strlen(m), 4, &e), 0);
	assert_string_equal(e.name, "");
	m = "4\t" SHA "\t1\t0\tx/y\t..\n";
	assert_int_equal(download_manifest_find(m, strlen(m), 4, &e), 0);
	assert_string_equal(e.name, "");
	m = "4\t" SHA "\t1\t0\tx/y\t%2E%2E%2Fetc%2Fpasswd%00%0A\n";
	assert_int_equal(download_manifest_find(m, strlen(m), 4, &e), 0);
	assert_string_equal(e.name, ".._etc_passwd__");
	m = "4\t" SHA "\t1\t0\tx/y\ta%4\n";	/* a cut escape */
	assert_int_equal(download_manifest_find(m, strlen(m), 4, &e), 0);
	assert_string_equal(e.name, "");
	/* a NUL inside the buffer is only a byte of a bad line */
	assert_int_equal(download_manifest_find("1\0\t", 3, 1, &e), -1);
	assert_int_equal(download_manifest_find("", 0, 1, &e), -1);
}

/* test_type - active content is never served as itself */
static void test_type(void **state)
{
	static const char *const active[] = {
		"text/html", "TEXT/HTML; charset=utf-8", "application/xhtml+xml", "image/svg+xml",
		"text/xml", "application/xml", "application/rss+xml", "text/javascript",
		"application/javascript", "application/x-javascript", "application/ecmascript",
		"text/ecmascript", "text/css", "text/xsl", "application/x-shockwave-flash",
		"application/xml-dtd", "text/x-html", "application/vnd.ms-svg", "APPLICATION/ATOM+XML",
		"multipart/related", "message/rfc822", "text/cache-manifest", " text/html ",
		"", "html", "text/", "/html", "text/plain/html", "text/pl\"ain", "text/plain\x01",
	};
	static const char *const kept[] = {
		"application/pdf", "application/zip", "image/png", "text/plain",
		"text/plain; charset=utf-8", "application/xmlfoo", "application/vnd.openxmlformats-officedocument."
		"wordprocessingml.document", "application/json", "text/csv",
	};
	(void)state;
	for (size_t i = 0; i < sizeof(active) / sizeof(active[0]); i++)
		if (strcmp(download_type(active[i]), DOWNLOAD_OCTET) != 0)
			fail_msg("'%s' served as %s", active[i], download_type(active[i]));
	for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
		assert_string_equal(download_type(kept[i]), kept[i]);
}

/* test_disposition - RFC 6266/8187 with an ASCII fallback */
static void test_disposition(void **state)
{
	char out[DOWNLOAD_DISP_MAX], big[DOWNLOAD_NAME_MAX + 1];

	(void)state;
	download_disposition("report Q3.pdf", 1, out, sizeof(out));
	assert_string_equal(out, "attachment; filename=\"report Q3.pdf\"; "
	    "filename*=UTF-8''report%20Q3.pdf");
	download_disposition("\xc3\xa9t\xc3\xa9 \xe2\x82\xac.txt", 1, out, sizeof(out));
	assert_string_equal(out, "attachment; filename=\"_t_ _.txt\"; "
	    "filename*=UTF-8''%C3%A9t%C3%A9%20%E2%82%AC.txt");
	download_disposition("a\"b\\c%d;e'f", 1, out, sizeof(out));
	assert_string_equal(out, "attachment; filename=\"a_b_c_d;e'f\"; "
	    "filename*=UTF-8''a%22b%5Cc%25d%3Be%27f");
	download_disposition("", 7, out, sizeof(out));
	assert_string_equal(out, "attachment; filename=\"attachment-7\"; "
	    "filename*=UTF-8''attachment-7");
	download_disposition(NULL, 8, out, sizeof(out));
	assert_string_equal(out, "attachment; filename=\"attachment-8\"; "
	    "filename*=UTF-8''attachment-8");
	/* the longest name, every byte escaped, fits */
	memset(big, '\x7f', DOWNLOAD_NAME_MAX);
	big[DOWNLOAD_NAME_MAX] = '\0';
	assert_true(download_disposition(big, 1, out, sizeof(out)) < sizeof(out));
	assert_null(strpbrk(out, "\r\n"));
	assert_int_equal(download_disposition("x", 1, out, 10), 0);
}

/* write_file - PATH with LEN bytes of DATA */
static void write_file(const char *path, const char *data, size_t len)
{
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	assert_int_equal(fwrite(data, 1, len, fp), len);
	fclose(fp);
}

/* test_open - a store written by hand: found, size checked, links refused */
static void test_open(void **state)
{
	char dir[] = "/tmp/beacon-dl-XXXXXX", path[256], why[512], man[512], buf[8];
	uint8_t rid[TOKEN_RID_LEN];
	struct download_entry e;
	int fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	for (int i = 0; i < TOKEN_RID_LEN; i++)
		rid[i] = (uint8_t)(0xa0 + i);
	assert_int_equal(download_open(dir, rid, 1, &e, &fd, why, sizeof(why)), DOWNLOAD_NO_MANIFEST);
	assert_int_equal(fd, -1);
	snprintf(path, sizeof(path), "%s/t", dir);
	assert_int_equal(mkdir(path, 0750), 0);
	snprintf(path, sizeof(path), "%s/9f", dir);
	assert_int_equal(mkdir(path, 0750), 0);
	snprintf(man, sizeof(man), "1\t" SHA "\t4\t0\ttext/plain\ttest.txt\n"
	    "2\t" SHA "\t5\t0\ttext/plain\tbad-size.txt\n"
	    "3\t%064d\t4\t0\ttext/plain\tmissing.txt\n", 0);
	snprintf(path, sizeof(path), "%s/t/a0a1a2a3a4a5a6a7a8a9aaabacadaeaf", dir);
	write_file(path, man, strlen(man));
	snprintf(path, sizeof(path), "%s/9f/" SHA, dir);
	write_file(path, "test", 4);
	assert_int_equal(download_open(dir, rid, 1, &e, &fd, why, sizeof(why)), DOWNLOAD_FOUND);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, buf, sizeof(buf)), 4);
	assert_memory_equal(buf, "test", 4);
	close(fd);
	assert_int_equal(download_open(dir, rid, 2, &e, &fd, why, sizeof(why)), DOWNLOAD_BAD_SIZE);
	assert_int_equal(fd, -1);
	assert_non_null(strstr(why, "manifest says 5"));
	assert_int_equal(download_open(dir, rid, 3, &e, &fd, why, sizeof(why)), DOWNLOAD_NO_BLOB);
	assert_int_equal(download_open(dir, rid, 4, &e, &fd, why, sizeof(why)), DOWNLOAD_NO_ENTRY);
	/* a symbolic link as the blob or the manifest is not followed */
	snprintf(path, sizeof(path), "%s/9f/" SHA, dir);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(symlink("/etc/hostname", path), 0);
	assert_int_equal(download_open(dir, rid, 1, &e, &fd, why, sizeof(why)), DOWNLOAD_NO_BLOB);
	unlink(path);
	snprintf(path, sizeof(path), "%s/t/a0a1a2a3a4a5a6a7a8a9aaabacadaeaf", dir);
	unlink(path);
	assert_int_equal(symlink("/etc/hostname", path), 0);
	assert_int_equal(download_open(dir, rid, 1, &e, &fd, why, sizeof(why)), DOWNLOAD_NO_MANIFEST);
	unlink(path);
	/* a manifest too large is not read */
	{
		size_t big = DOWNLOAD_MANIFEST_MAX + 1;
		char *junk = calloc(1, big);
		assert_non_null(junk);
		write_file(path, junk, big);
		free(junk);
		assert_int_equal(download_open(dir, rid, 1, &e, &fd, why, sizeof(why)),
		    DOWNLOAD_NO_MANIFEST);
		unlink(path);
	}
	assert_int_equal(download_open("", rid, 1, &e, &fd, why, sizeof(why)), DOWNLOAD_NO_MANIFEST);
	snprintf(path, sizeof(path), "%s/t", dir);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/9f", dir);
	rmdir(path);
	rmdir(dir);
}

/* test_conn_budget - each allowed download holds two descriptors (its connection's and
 * its file's); no download_limit: every connection may hold two */
static void test_conn_budget(void **state)
{
	(void)state;
	/* 1024 - 272 reserved = 752; 64 files first: 688 connections on one listener */
	assert_int_equal(download_conn_budget(1024, 272, 64, 1), 688);
	assert_int_equal(download_conn_budget(1024, 272, 64, 2), 344);
	assert_int_equal(download_conn_budget(1024, 272, 0, 1), 376);
	assert_int_equal(download_conn_budget(100, 272, 64, 1), 1);
	assert_int_equal(download_conn_budget(300, 272, 64, 1), 1);
	assert_int_equal(download_conn_budget(1024, 272, 64, 0), 688);
}

/* test_log_due - at most one line per period, the first at once */
static void test_log_due(void **state)
{
	_Atomic int64_t last = 0;

	(void)state;
	assert_true(download_log_due(&last, 1000, 60));
	assert_false(download_log_due(&last, 1000, 60));
	assert_false(download_log_due(&last, 1059, 60));
	assert_true(download_log_due(&last, 1060, 60));
	assert_false(download_log_due(&last, 1061, 60));
	assert_true(download_log_due(&last, 500, 60));	/* the clock went back */
}

/* test_store_check - absent is 1, a readable store 0, a "t" that is no directory -1 */
static void test_store_check(void **state)
{
	char dir[] = "/tmp/beacon-dlcheck-XXXXXX", path[256], why[512] = "";
	FILE *fp;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/none", dir);
	assert_int_equal(download_store_check(path, why, sizeof(why)), 1);
	assert_int_equal(download_store_check(dir, why, sizeof(why)), 0);	/* no t yet */
	snprintf(path, sizeof(path), "%s/t", dir);
	assert_non_null(fp = fopen(path, "w"));
	fclose(fp);
	assert_int_equal(download_store_check(dir, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "/t: Not a directory"));
	unlink(path);
	assert_int_equal(mkdir(path, 0750), 0);
	assert_int_equal(download_store_check(dir, why, sizeof(why)), 0);
	rmdir(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_n),
		cmocka_unit_test(test_range),
		cmocka_unit_test(test_manifest),
		cmocka_unit_test(test_type),
		cmocka_unit_test(test_disposition),
		cmocka_unit_test(test_open),
		cmocka_unit_test(test_conn_budget),
		cmocka_unit_test(test_log_due),
		cmocka_unit_test(test_store_check),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
