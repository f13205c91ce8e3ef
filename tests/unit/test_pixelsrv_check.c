/*
 * test_pixelsrv_check.c - unit tests of check_node_name() (pixelsrv/check.c):
 * an explicit node_name is taken as it is or refused; an empty one is made
 * of the host name, which is cut and cleaned with a warning rather than
 * refused, so that a host whose name does not fit still starts.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sysexits.h>

#include <cmocka.h>

#include "check.h"

/* test_explicit - node_name set: used as it is, or refused naming it */
static void test_explicit(void **state)
{
	char out[EVENT_NODE_MAX + 1], msg[512], name[EVENT_NODE_MAX + 2];
	(void)state;

	assert_int_equal(check_node_name("px1", "host.example.org", out, msg, sizeof(msg)), 0);
	assert_string_equal(out, "px1");
	assert_string_equal(msg, "");

	memset(name, 'a', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';		/* 64 bytes */
	assert_int_equal(check_node_name(name, "h", out, msg, sizeof(msg)), EX_CONFIG);
	assert_non_null(strstr(msg, "[pixelsrv] node_name 'aaaa"));
	assert_non_null(strstr(msg, "is not a node name: 1 to 63 bytes"));
	name[EVENT_NODE_MAX] = '\0';		/* 63 bytes: fine */
	assert_int_equal(check_node_name(name, "h", out, msg, sizeof(msg)), 0);
	assert_string_equal(out, name);

	assert_int_equal(check_node_name("px 1", "h", out, msg, sizeof(msg)), EX_CONFIG);
	assert_non_null(strstr(msg, "'px 1' is not a node name"));
}

/* test_host - node_name empty: the host name, cut to 63 bytes and cleaned, with a warning */
static void test_host(void **state)
{
	char out[EVENT_NODE_MAX + 1], msg[512], host[66];
	(void)state;

	assert_int_equal(check_node_name("", "web-1.example.org", out, msg, sizeof(msg)), 0);
	assert_string_equal(out, "web-1.example.org");
	assert_string_equal(msg, "");		/* fits: no warning */
	assert_int_equal(check_node_name(NULL, "web-1", out, msg, sizeof(msg)), 0);
	assert_string_equal(out, "web-1");

	/* 64 bytes (Linux allows that many): cut to 63 */
	memset(host, 'h', 64);
	host[64] = '\0';
	assert_int_equal(check_node_name("", host, out, msg, sizeof(msg)), 0);
	assert_int_equal(strlen(out), EVENT_NODE_MAX);
	assert_memory_equal(out, host, EVENT_NODE_MAX);
	assert_non_null(strstr(msg, "node_name is empty and the host name 'hhhh"));
	assert_non_null(strstr(msg, "set node_name to choose"));

	/* bytes a name may not hold become '-' */
	assert_int_equal(check_node_name("", "my host!\xc3\xa9", out, msg, sizeof(msg)), 0);
	assert_string_equal(out, "my-host---");
	assert_non_null(strstr(msg, "this node is named 'my-host---'"));

	/* nothing to make a name of */
	assert_int_equal(check_node_name("", "", out, msg, sizeof(msg)), EX_CONFIG);
	assert_non_null(strstr(msg, "set node_name"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_explicit),
		cmocka_unit_test(test_host),
	};

	return cmocka_run_group_tests_name("pixelsrv_check", tests, NULL, NULL);
}
