; struc/endstruc/istruc/at/iend, absolute, local labels inside structures (NASM manual 5.9.1, 5.9.2, 7.4).
; formats: bin elf32
struc point
.x: resd 1
.y: resd 1
.name: resb 8
endstruc
struc pair, 4
.first: resw 1
.second: resw 1
endstruc
section .data
p1: istruc point
    at point.x, dd 10
    at point.y, dd 20
    at point.name, db 'origin'
    iend
p2: istruc point
    at point.y, dd -1
    iend
    dd point_size, point.y, point.name, pair_size, pair.second
absolute 0x100
abs1: resb 4
abs2: resw 1
section .data
    dd abs1, abs2
