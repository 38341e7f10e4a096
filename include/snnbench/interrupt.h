/* Graceful interruption. SIGTERM (Slurm's time limit, scancel, preemption) and SIGUSR1 (the
 * batch script's early warning, `--signal=B:USR1@lead`) only set a flag; the training loop looks
 * at it between batches, checkpoints the cell in flight and the run exits with SB_EINTERRUPTED
 * (75), "resume me". Nothing else happens inside the handler, so no library call is ever
 * interrupted half-way. SIGINT keeps its default (an immediate stop) on purpose: Ctrl-C means
 * "stop now", and the epoch checkpoints still bound what it costs. */
#ifndef SNNBENCH_INTERRUPT_H
#define SNNBENCH_INTERRUPT_H

/* Installs the handlers (SA_RESTART, so interrupted system calls resume). Call after MPI_Init:
 * the MPI library may install handlers of its own while it starts. */
void sb_interrupt_install(void);

/* Nonzero once a stop was requested, by a signal or by sb_interrupt_request. */
int sb_interrupt_requested(void);
/* The signal that asked, or 0 (not signalled, or asked by another rank). */
int sb_interrupt_signal(void);
/* Asks this process to stop, as a signal would: used when another rank was signalled. */
void sb_interrupt_request(void);

#endif
