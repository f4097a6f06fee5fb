#!/bin/sh
# Rebuilds blinky.elf, blinky.map, blinky.bin and memory-usage.txt (ld's own
# --print-memory-usage table) with Debian's gcc-arm-none-eabi (12.2.1 and binutils 2.40
# when the committed files were made):  apt-get install gcc-arm-none-eabi
set -eu
cd "$(dirname "$0")"
arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -Os -ffreestanding -fno-ident -c blinky.c -o blinky.o
arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -nostdlib -nostartfiles -T blinky.ld \
  -Wl,--print-memory-usage,-Map=blinky.map -o blinky.elf blinky.o > memory-usage.txt
arm-none-eabi-objcopy -O binary blinky.elf blinky.bin
rm blinky.o
cat memory-usage.txt
