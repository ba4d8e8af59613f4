/*
 * refused.c: the SQLSTATEs that belong to rows of a batch rather than to
 * the batch itself (refused.h explains why the engine needs to know).
 */
#include <string.h>

#include "refused.h"

const char *refused_reason(const char *state)
{
	if (!state || strlen(state) != 5)
		return NULL;
	if (strncmp(state, "23", 2) == 0)
		return "integrity constraint violation";
	if (strncmp(state, "P0", 2) == 0)
		return "raised by a trigger";
	if (strcmp(state, "09000") == 0)
		return "triggered action exception";
	if (strcmp(state, "27000") == 0)
		return "triggered data change violation";
	return NULL;
}

void refused_strip_state(char *message)
{
	static const char tag[] = " (SQLSTATE ";
	size_t len = strlen(message);
	size_t tail = sizeof(tag) - 1 + 5 + 1;

	if (len >= tail && strncmp(message + len - tail, tag,
				   sizeof(tag) - 1) == 0 &&
	    message[len - 1] == ')')
		message[len - tail] = '\0';
}
