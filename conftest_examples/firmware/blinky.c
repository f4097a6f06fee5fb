/* A tiny Cortex-M4 "blinky": a vector table, initialised data (copied from flash at
 * reset), zeroed data, a stack reservation.  Built by build.sh; see README.md. */
#include <stdint.h>

#define GPIO_ODR (*(volatile uint32_t *)0x40020014u)

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _estack;

volatile uint32_t delay_loops = 200000u;  /* .data: in RAM, its initial value in FLASH */
uint8_t log_buffer[512];                  /* .bss: RAM only */
static const char banner[] = "blinky 1.0"; /* .rodata: FLASH */

void reset_handler(void);

__attribute__((section(".isr_vector"), used))
const void *const vectors[16] = {&_estack, (const void *)reset_handler};

static void delay(void) {
    for (volatile uint32_t i = 0; i < delay_loops; i++) {
    }
}

void reset_handler(void) {
    uint32_t *src = &_sidata;
    for (uint32_t *dst = &_sdata; dst < &_edata;) *dst++ = *src++;
    for (uint32_t *dst = &_sbss; dst < &_ebss;) *dst++ = 0;
    log_buffer[0] = (uint8_t)banner[0];
    for (;;) {
        GPIO_ODR ^= 1u << 5;
        delay();
    }
}
