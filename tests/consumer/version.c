/* Links the static library from C and checks the header matches the library. */
#include "qlocal.h"

#include <stdio.h>
#include <string.h>

int main(void) {
    char expected[64];
    snprintf(expected, sizeof expected, "%d.%d.%d", QLOCAL_VERSION_MAJOR, QLOCAL_VERSION_MINOR,
             QLOCAL_VERSION_PATCH);
    printf("qlocal %s (header %s)\n", qlocal_version_string(), expected);
    return strcmp(expected, qlocal_version_string()) == 0 ? 0 : 1;
}
