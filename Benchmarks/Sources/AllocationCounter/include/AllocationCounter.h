#ifndef SLUICE_ALLOCATION_COUNTER_H
#define SLUICE_ALLOCATION_COUNTER_H
#include <stdint.h>

/// Number of malloc, calloc, realloc and aligned allocations since the process started.
uint64_t sluice_allocation_count(void);

#endif
