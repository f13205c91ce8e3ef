/*
 * fuzz_clientip.c - libFuzzer target for the client-address walk.
 *
 * The input is "PEER-SELECTOR XFF \n FORWARDED": its first byte picks the
 * socket peer (trusted or not, IPv4, IPv6 or IPv4-mapped), the bytes up
 * to the first newline are the X-Forwarded-For value and the rest the
 * Forwarded value (each may be absent).  Trusted proxies are fixed.  The
 * answer must be an IPv4/IPv6 address, and the peer itself when the peer
 * is not trusted or no header was believed.  The input is also fed to
 * clientip_parse and to the prefix parser.
 *
 * Build: clang -g -O1 -fsanitize=fuzzer,address,undefined -Ilib
 *	tests/fuzz/fuzz_clientip.c pixelsrv/clientip.c lib/cidr.c
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cidr.h"
#include "clientip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct cidr_set *fuzz_trusted;

/* fuzz_setup - the fixed trusted set, built once */
static void fuzz_setup(void)
{
	static const char *const nets[] = { "10.0.0.0/8", "127.0.0.1",
	    "2001:db8:ffff::/48", "192.168.0.0/16" };
	char err[128];
	size_t i;

	fuzz_trusted = cidr_set_new();
	for (i = 0; i < sizeof(nets) / sizeof(nets[0]); i++)
		if (cidr_set_add(fuzz_trusted, nets[i], NULL, err, sizeof(err)))
			abort();
	if (cidr_set_finish(fuzz_trusted) != 0)
		abort();
}

/* fuzz_peer - one of six peers, by SEL */
static void fuzz_peer(uint8_t sel, struct sockaddr_storage *ss)
{
	static const char *const peers[] = { "10.0.0.1", "203.0.113.5",
	    "2001:db8:ffff::1", "2001:db8::5", "::ffff:10.0.0.1",
	    "::ffff:203.0.113.5" };
	const char *p = peers[sel % 6];

	memset(ss, 0, sizeof(*ss));
	if (strchr(p, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(1234);
		inet_pton(AF_INET6, p, &s6->sin6_addr);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(1234);
		inet_pton(AF_INET, p, &s4->sin_addr);
	}
}

/* fuzz_same - do A and B hold the same address (v4-mapped = v4)? */
static int fuzz_same(const struct sockaddr_storage *a,
    const struct sockaddr_storage *b)
{
	char x[INET6_ADDRSTRLEN + 8], y[INET6_ADDRSTRLEN + 8];

	if (cidr_anonymize((const struct sockaddr *)a, x, sizeof(x)) ||
	    cidr_anonymize((const struct sockaddr *)b, y, sizeof(y)))
		return 0;
	return strcmp(x, y) == 0;
}

/* LLVMFuzzerTestOneInput - one input: resolve, then parse it raw */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_storage peer, out, tmp;
	char *buf, *xff, *fwd, *nl;
	struct cidr_set *s;
	char err[128] = "";
	int rc;

	if (fuzz_trusted == NULL)
		fuzz_setup();
	if (size < 1)
		return 0;
	fuzz_peer(data[0], &peer);
	buf = malloc(size);
	if (buf == NULL)
		return 0;
	memcpy(buf, data + 1, size - 1);
	buf[size - 1] = '\0';
	xff = buf;
	nl = strchr(buf, '\n');
	fwd = NULL;
	if (nl != NULL) {
		*nl = '\0';
		fwd = nl + 1;
	}
	/* selector bit 3: no X-Forwarded-For, so Forwarded is used */
	rc = clientip_resolve((struct sockaddr *)&peer, data[0] & 8 ? NULL : xff,
	    fwd, fuzz_trusted, &out);
	if (rc != CLIENTIP_PEER && rc != CLIENTIP_FORWARDED)
		abort();
	if (out.ss_family != AF_INET && out.ss_family != AF_INET6)
		abort();
	if (rc == CLIENTIP_PEER && !fuzz_same(&out, &peer))
		abort();
	if (cidr_set_match(fuzz_trusted, (struct sockaddr *)&peer) == NULL &&
	    rc != CLIENTIP_PEER)
		abort();

	/* the raw bytes as one entry, and as a prefix */
	(void)clientip_parse((const char *)data, size, &tmp);
	s = cidr_set_new();
	if (s != NULL) {
		if (cidr_set_addn(s, (const char *)data, size, NULL, err,
		    sizeof(err)) == 0) {
			if (cidr_set_finish(s) != 0)
				abort();
			(void)cidr_set_match_str(s, xff);
		} else if (err[0] == '\0') {
			abort();	/* a refusal always says why */
		}
		cidr_set_free(s);
	}
	free(buf);
	return 0;
}
