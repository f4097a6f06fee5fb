"""Firmware formats: linked ELF programs, GNU ld map files, ESP-IDF partition tables."""
