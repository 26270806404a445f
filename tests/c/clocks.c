/* Clocks: monotonic time advances across a sleep; realtime is plausible. */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

int main(void) {
    struct timespec a, b, r;
    clock_gettime(CLOCK_MONOTONIC, &a);
    usleep(20000);
    clock_gettime(CLOCK_MONOTONIC, &b);
    long long ms = (b.tv_sec - a.tv_sec) * 1000LL + (b.tv_nsec - a.tv_nsec) / 1000000;
    printf("slept at least 20 ms: %d\n", ms >= 20);
    clock_gettime(CLOCK_REALTIME, &r);
    printf("after 2020: %d\n", r.tv_sec > 1577836800);
    return 0;
}
