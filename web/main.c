/*
 * main.c - beacon-web: the senders' pages and JSON API (to come)
 */
#include <stdio.h>

int main(void)
{
	fputs("beacon-web: not built yet\n", stderr);
	return 69;
}
