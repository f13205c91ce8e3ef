/*
 * json.h - one JSON string escaper for every program: valid UTF-8 out
 * whatever comes in
 *
 * SYNOPSIS
 *	json_string(s, put, arg);	(put(arg, bytes, n) receives the output)
 *	json_string(s, json_buf_put, &buf);	(into a struct buf, buf.h)
 *
 * DESCRIPTION
 *	json_string writes S as a quoted JSON string: " and \ escaped,
 *	control characters, DEL, U+2028 and U+2029 as escapes (a JSON text
 *	stays valid JavaScript and one line), and each byte that is not
 *	part of valid UTF-8 (bad lead or continuation, overlong form,
 *	surrogate, past U+10FFFF) as U+FFFD.  A NULL S is written as null.
 */
#ifndef BEACON_JSON_H
#define BEACON_JSON_H

#include <stddef.h>

/* json_put_fn - where the output goes: N bytes at P */
typedef void json_put_fn(void *arg, const char *p, size_t n);

/* json_utf8 - the length of the valid UTF-8 sequence at S (N bytes left), its code
 * point in *CP; 0 when it is not one */
size_t json_utf8(const unsigned char *s, size_t n, unsigned *cp);
/* json_string - S as a JSON string (NULL: null) through PUT */
void json_string(const char *s, json_put_fn *put, void *arg);
/* json_buf_put - a json_put_fn appending to the struct buf ARG */
void json_buf_put(void *arg, const char *p, size_t n);

#endif
