/* Signal flags for graceful interruption: see include/snnbench/interrupt.h. */
#include "snnbench/interrupt.h"

#include <signal.h>
#include <string.h>

static volatile sig_atomic_t g_requested;
static volatile sig_atomic_t g_signal;

static void on_signal(int sig) {
  g_signal = sig;
  g_requested = 1;
}

void sb_interrupt_install(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGUSR1, &sa, NULL);
}

int sb_interrupt_requested(void) { return g_requested != 0; }

int sb_interrupt_signal(void) { return (int)g_signal; }

void sb_interrupt_request(void) { g_requested = 1; }
