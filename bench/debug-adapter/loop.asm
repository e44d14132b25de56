; loop.asm - workload for bench/debug-adapter/run.ts: a counting loop of LOOP_COUNT iterations (3
; instructions each), then a labelled `done` the benchmark puts a breakpoint on, then exit via port 0xF4.
bits 32
org 0x100000
%ifndef LOOP_COUNT
%define LOOP_COUNT 33333333
%endif
multiboot_header:
    dd 0x1BADB002, 0x00010003, -(0x1BADB002 + 0x00010003)
    dd multiboot_header, multiboot_header, load_end, bss_end, start
start:
    mov esp, stack_top
    xor ecx, ecx
.loop:
    inc ecx
    cmp ecx, LOOP_COUNT
    jb .loop
done:
    mov al, 0
    out 0xF4, al
load_end:
section .bss follows=.text
        resb 4096
stack_top:
bss_end:
