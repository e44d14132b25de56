; Data directives, strings, character constants and every NASM number form (manual 3.2, 3.4).
; formats: bin elf32
section .data
bytes:  db 1, 2, 0xff, -1, -128, 255, 'a', "b", `\n\t\\\x41\101`, 'hello', 0
words:  dw 1, -1, 0x1234, 'ab', 'abc', 65535
dwords: dd 0x12345678, -2, 'abcd', 4294967295, 1_000_000
qwords: dq 0x123456789abcdef0, -1, 0x00CF9A000000FFFF, 1 << 40
nums:   dd 200, 0200, 0200d, 0d200, 0c8h, $0c8, 0xc8, 0hc8, 310q, 310o, 0o310, 0q310
        dd 11001000b, 1100_1000y, 0b1100_1000, 0y1100_1000, 0t200, 200t, 0x_ff_ff
chars:  dd 'a', 'ab', "abcd", `\0`, `\e`, `\u00e9`
strs:   db `caf\u00e9`, '"quoted"', "it's"
        dw 'x', "xyz"
        dd 'abcde'
mixed:  db 'abc', 1, 'd', 2
        times 5 db 0x55
        times 3 dw 0x1234, 7
here:   dd $, $ - here, $$ - $$
len     equ $ - bytes
        dd len
        db ?
        align 8, db 0xcc
        dd -(0x1BADB002 + 3)
section .bss
buf:    resb 10
wbuf:   resw 3
dbuf:   resd 2
qbuf:   resq 1
        alignb 16
big:    resb 4096
