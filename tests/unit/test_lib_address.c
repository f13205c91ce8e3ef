/*
 * test_lib_address.c - the one form of a mail address: a table of
 * spellings of one mailbox that must meet, and of hostile input that must
 * be refused (trailing dots, "..", empty parts, quotes and escapes,
 * mixed-case IDN, overlong parts, odd bytes); domains and patterns.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "address.h"

/* norm_case - an input and its one form (NULL: refused) */
struct norm_case {
	const char *in;		/* as a client may write it */
	const char *want;	/* the one form, or NULL */
};

static const struct norm_case cases[] = {
	/* one mailbox, many spellings */
	{ "cat@example.org", "cat@example.org" },
	{ "<cat@example.org>", "cat@example.org" },
	{ " <cat@example.org> ", "cat@example.org" },
	{ "cat@example.org.", "cat@example.org" },
	{ "<cat@example.org.>", "cat@example.org" },
	{ "CAT@Example.ORG", "cat@example.org" },
	{ "CAT@EXAMPLE.ORG.", "cat@example.org" },
	{ "\"cat\"@example.org", "cat@example.org" },
	{ "\"c\\at\"@example.org", "cat@example.org" },
	{ "\"CAT\"@example.org.", "cat@example.org" },
	{ "@relay.example,@other.example:cat@example.org", "cat@example.org" },
	{ "<@relay.example:Cat@Example.Org.>", "cat@example.org" },
	{ "someone@shop.example.", "someone@shop.example" },
	/* dot-atoms and quoted strings that are not */
	{ "first.last+tag@example.org", "first.last+tag@example.org" },
	{ "\"a b\"@example.org", "\"a b\"@example.org" },
	{ "\"A B\"@example.org", "\"a b\"@example.org" },
	{ "a..b@example.org", "\"a..b\"@example.org" },
	{ "\"a..b\"@example.org", "\"a..b\"@example.org" },
	{ ".a@example.org", "\".a\"@example.org" },
	{ "a.@example.org", "\"a.\"@example.org" },
	{ "\"a\\\"b\"@example.org", "\"a\\\"b\"@example.org" },
	{ "\"a\\\\b\"@example.org", "\"a\\\\b\"@example.org" },
	{ "\"a@b\"@example.org", "\"a@b\"@example.org" },
	{ "\"a\\@b\"@example.org", "\"a@b\"@example.org" },
	/* IDN: U-labels and A-labels in any case meet as A-labels */
	{ "info@bücher.example", "info@xn--bcher-kva.example" },
	{ "info@BÜCHER.Example.", "info@xn--bcher-kva.example" },
	{ "info@XN--BCHER-KVA.EXAMPLE", "info@xn--bcher-kva.example" },
	{ "info@xn--bcher-kva.example.", "info@xn--bcher-kva.example" },
	{ "info@bu\xcc\x88" "cher.example", "info@xn--bcher-kva.example" },	/* NFD */
	{ "info@\xef\xbc\xa5xample.org", "info@example.org" },		/* fullwidth E */
	{ "info@straße.example", "info@xn--strae-oqa.example" },
	/* non-ASCII local parts (SMTPUTF8) lower-cased too */
	{ "Ünal@example.org", "ünal@example.org" },
	{ "ÜNAL@Bücher.example", "ünal@xn--bcher-kva.example" },
	/* domain literals */
	{ "cat@[192.0.2.1]", "cat@[192.0.2.1]" },
	{ "cat@[IPv6:2001:DB8::1]", "cat@[ipv6:2001:db8::1]" },
	/* hostile or broken: refused */
	{ "", NULL },
	{ "<>", NULL },
	{ "cat", NULL },
	{ "cat@", NULL },
	{ "cat@.", NULL },
	{ "@example.org", NULL },
	{ "<@example.org>", NULL },
	{ "\"\"@example.org", NULL },
	{ "cat@example.org..", NULL },
	{ "cat@example..org", NULL },
	{ "cat@.example.org", NULL },
	{ "cat@exa mple.org", NULL },
	{ "cat@exa\tmple.org", NULL },
	{ "cat@exa\x01mple.org", NULL },
	{ "cat@example.org\x7f", NULL },
	{ "ca\x01t@example.org", NULL },
	{ "ca\rt@example.org", NULL },
	{ "cat@a@example.org", NULL },
	{ "\"cat@example.org", NULL },
	{ "\"cat\\\"@example.org", NULL },
	{ "\"a\"b\"@example.org", NULL },
	{ "\"a\".b@example.org", NULL },
	{ "ca\\t@example.org", NULL },
	{ "cat@xn--zz.example", NULL },
	{ "cat@XN--ZZ.example", NULL },
	{ "cat@exa_mple!.org", NULL },
	{ "cat@[192.0.2.1", NULL },
	{ "cat@[19[2.0.2.1]", NULL },
	{ "ca\xff" "t@example.org", NULL },
	{ "ca\xc0\xaft@example.org", NULL },		/* overlong '/' */
	{ "ca\xed\xa0\x80t@example.org", NULL },	/* a surrogate */
	{ "ca\xc2\x85t@example.org", NULL },		/* C1 control NEL */
	{ "cat@b\xfc" "cher.example", NULL },		/* Latin-1, not UTF-8 */
	{ "@relay.example cat@example.org", NULL },
	{ "a b@example.org", NULL },
	{ "a(b)@example.org", NULL },
	{ "<cat@example.org", NULL },
};

/* test_norm_table - every case gives its one form, or is refused with a reason */
static void test_norm_table(void **state)
{
	char out[ADDRESS_SIZE];
	const char *why;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc;

		why = NULL;
		rc = address_norm(cases[i].in, out, sizeof(out), &why);
		if (cases[i].want) {
			if (rc != 0 || strcmp(out, cases[i].want) != 0)
				fail_msg("'%s': got %d '%s' (%s), want '%s'", cases[i].in, rc, out,
					 why ? why : "", cases[i].want);
		} else if (rc != -1 || why == NULL || out[0] != '\0') {
			fail_msg("'%s': accepted as '%s', want refused", cases[i].in, out);
		}
	}
}

/* test_norm_idempotent - the one form of a one form is itself */
static void test_norm_idempotent(void **state)
{
	char out[ADDRESS_SIZE], again[ADDRESS_SIZE];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (!cases[i].want)
			continue;
		assert_int_equal(address_norm(cases[i].in, out, sizeof(out), NULL), 0);
		assert_int_equal(address_norm(out, again, sizeof(again), NULL), 0);
		assert_string_equal(out, again);
	}
}

/* test_norm_lengths - 64-octet local parts and 253-octet domains, not one more */
static void test_norm_lengths(void **state)
{
	char in[4096], out[ADDRESS_SIZE], lab[64];
	const char *why;

	memset(lab, 'a', 63);
	lab[63] = '\0';
	/* local part: 64 accepted, 65 refused, quoted 64 with escapes accepted */
	snprintf(in, sizeof(in), "%.64s@example.org", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
	assert_int_equal(address_norm(in, out, sizeof(out), &why), 0);
	snprintf(in, sizeof(in), "%.65s@example.org", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
	assert_int_equal(address_norm(in, out, sizeof(out), &why), -1);
	strcpy(in, "\"");
	for (int i = 0; i < 64; i++)
		strcat(in, "\\\"");
	strcat(in, "\"@");
	strcat(in, lab); strcat(in, "."); strcat(in, lab); strcat(in, ".");
	strcat(in, lab); strcat(in, "."); strcat(in, "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghi");
	assert_int_equal(strlen(strchr(in, '@') + 1), 253);
	assert_int_equal(address_norm(in, out, sizeof(out), &why), 0);
	assert_int_equal(strlen(out), 2 + 128 + 1 + 253);
	strcat(in, ".");	/* the root dot does not count */
	assert_int_equal(address_norm(in, out, sizeof(out), &why), 0);
	in[strlen(in) - 1] = 'x';	/* 254 octets */
	assert_int_equal(address_norm(in, out, sizeof(out), &why), -1);
	/* a label of 64 */
	snprintf(in, sizeof(in), "cat@%sa.example", lab);
	assert_int_equal(address_norm(in, out, sizeof(out), &why), -1);
	/* input over the limit is not read */
	memset(in, 'a', sizeof(in) - 1);
	in[sizeof(in) - 1] = '\0';
	in[10] = '@';
	assert_int_equal(address_norm(in, out, sizeof(out), &why), -1);
	/* a small output buffer is refused, not overrun */
	assert_int_equal(address_norm("cat@example.org", out, 8, &why), -1);
	assert_int_equal(address_norm("\"a b\"@example.org", out, 4, &why), -1);
	assert_int_equal(address_norm(NULL, out, sizeof(out), &why), -1);
}

/* test_domains - internal_domains entries and "@domain" patterns */
static void test_domains(void **state)
{
	char out[ADDRESS_SIZE];
	const char *why;

	assert_int_equal(address_norm_domain("Shop.Example.", out, sizeof(out), &why), 0);
	assert_string_equal(out, "shop.example");
	assert_int_equal(address_norm_domain("@Shop.Example.", out, sizeof(out), &why), 0);
	assert_string_equal(out, "@shop.example");
	assert_int_equal(address_norm_domain(".Bücher.example", out, sizeof(out), &why), 0);
	assert_string_equal(out, ".xn--bcher-kva.example");
	assert_int_equal(address_norm_domain("@", out, sizeof(out), &why), -1);
	assert_int_equal(address_norm_domain("a..b", out, sizeof(out), &why), -1);

	assert_int_equal(address_norm_pattern("@Example.ORG.", out, sizeof(out), &why), 0);
	assert_string_equal(out, "@example.org");
	assert_int_equal(address_norm_pattern("Cat@Example.ORG.", out, sizeof(out), &why), 0);
	assert_string_equal(out, "cat@example.org");
	assert_int_equal(address_norm_pattern("@relay:Cat@Example.ORG", out, sizeof(out), &why), 0);
	assert_string_equal(out, "cat@example.org");
	assert_int_equal(address_norm_pattern("@a@b.example", out, sizeof(out), &why), -1);

	assert_string_equal(address_domain("cat@example.org"), "example.org");
	assert_string_equal(address_domain("\"a@b\"@example.org"), "example.org");
	assert_null(address_domain("cat"));
	assert_null(address_domain(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_norm_table),
		cmocka_unit_test(test_norm_idempotent),
		cmocka_unit_test(test_norm_lengths),
		cmocka_unit_test(test_domains),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
