; The NASM expression grammar and precedence (manual 3.5).
; formats: bin elf32
a equ 7
b equ 3
section .data
    dd a + b * 2, (a + b) * 2, a - b - 1, a / b, a % b, -a / b, -a // b, -a % b, -a %% b
    dd a << 2 + 1, 1 << 4 >> 2, -16 >> 28, -16 >>> 2, a & b | 8, a ^ b & 1, a | b ^ 1
    dd ~a, !a, !0, - -a, + a, ~~a, -(-a)
    dd a == 7, a != 7, a < b, a <= 7, a > b, a >= 8, a <> b, a <=> b, b <=> a, a <=> a
    dd a && 0, a || 0, a ^^ b, 0 ^^ b
    dd a > b ? 100 : 200, a < b ? 100 : 200
    dd 0xFFFFFFFF / 16, 0xFFFFFFFF % 7, 1 << 31, (1 << 32) - 1, 0x80000000 >> 31
    dq -1 / 2, -1 // 2, 0x7fffffffffffffff, (1 << 63) >> 62
    dd ((((1+2)*3)-4)/5)
    dw 'a' + 1, 'ab' >> 8
