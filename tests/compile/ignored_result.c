/* Must NOT compile under -Werror: ignoring the result of a write loses what the caller needs
 * (was it queued?), so qlocal_socket_write is QLOCAL_NODISCARD. ctest expects this to fail
 * (compile_ignored_write_fails_*), which shows the warning test above it can fail. */
#include "qlocal.h"

void ignores_a_write(qlocal_socket *s);
void ignores_a_write(qlocal_socket *s) { qlocal_socket_write(s, (const uint8_t *)"x", 1); }
