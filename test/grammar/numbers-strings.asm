; SYNTAX TEST "source.asm.nasm.hyperstep" "numeric constants (NASM manual 3.4.1), strings and character constants"

    dd 0x1F, 0X1f, 0h1F, 1Fh, 0FFh, $1F, 0x_ff_ff
;      ^^^^ constant.numeric.integer.hexadecimal.hyperstep-nasm
;            ^^^^ constant.numeric.integer.hexadecimal.hyperstep-nasm
;                  ^^^^ constant.numeric.integer.hexadecimal.hyperstep-nasm
;                        ^^^ constant.numeric.integer.hexadecimal.hyperstep-nasm
;                             ^^^^ constant.numeric.integer.hexadecimal.hyperstep-nasm
;                                   ^^^ constant.numeric.integer.hexadecimal.hyperstep-nasm
;                                        ^^^^^^^^^ constant.numeric.integer.hexadecimal.hyperstep-nasm
    dd 0b101, 0B101, 101b, 0y101, 101y, 1010_0101b
;      ^^^^^ constant.numeric.integer.binary.hyperstep-nasm
;             ^^^^^ constant.numeric.integer.binary.hyperstep-nasm
;                    ^^^^ constant.numeric.integer.binary.hyperstep-nasm
;                          ^^^^^ constant.numeric.integer.binary.hyperstep-nasm
;                                 ^^^^ constant.numeric.integer.binary.hyperstep-nasm
;                                       ^^^^^^^^^^ constant.numeric.integer.binary.hyperstep-nasm
    dd 17q, 17o, 0o17, 0q17, 7_7q
;      ^^^ constant.numeric.integer.octal.hyperstep-nasm
;           ^^^ constant.numeric.integer.octal.hyperstep-nasm
;                ^^^^ constant.numeric.integer.octal.hyperstep-nasm
;                      ^^^^ constant.numeric.integer.octal.hyperstep-nasm
;                            ^^^^ constant.numeric.integer.octal.hyperstep-nasm
    dd 99, 0d99, 99d, 0t99, 1_000_000
;      ^^ constant.numeric.integer.decimal.hyperstep-nasm
;          ^^^^ constant.numeric.integer.decimal.hyperstep-nasm
;                ^^^ constant.numeric.integer.decimal.hyperstep-nasm
;                     ^^^^ constant.numeric.integer.decimal.hyperstep-nasm
;                           ^^^^^^^^^ constant.numeric.integer.decimal.hyperstep-nasm
    dd 1.5, 3e10, 1.0e-3
;      ^^^ constant.numeric.float.hyperstep-nasm
;           ^^^^ constant.numeric.float.hyperstep-nasm
;                 ^^^^^^ constant.numeric.float.hyperstep-nasm
    mov eax, 'a'
;            ^^^ constant.character.quoted.single.hyperstep-nasm
    mov ax, "ab"
;           ^^^^ constant.character.quoted.double.hyperstep-nasm
    mov al, `\n`
;           ^^^^ constant.character.quoted.backquote.hyperstep-nasm
;            ^^ constant.character.escape.backquote.hyperstep-nasm
    cmp al, 'q'
;           ^^^ constant.character.quoted.single.hyperstep-nasm
hello: db 'Hello, ', "world", `!\r\n\x41\0`, 0
;         ^^^^^^^^^ string.quoted.single.hyperstep-nasm
;                    ^^^^^^^ string.quoted.double.hyperstep-nasm
;                             ^^^^^^^^^^^^^ string.quoted.other.backquote.hyperstep-nasm
;                               ^^^^ constant.character.escape.backquote.hyperstep-nasm
;                                   ^^^^ constant.character.escape.backquote.hyperstep-nasm
;                                       ^^ constant.character.escape.backquote.hyperstep-nasm
;                                            ^ constant.numeric.integer.decimal.hyperstep-nasm
    db 'a;b', 0 ; the ; inside quotes is not a comment
;      ^^^^^ string.quoted.single.hyperstep-nasm - comment.line.semicolon.hyperstep-nasm
    mov eax, label1h
;            ^^^^^^^ - constant.numeric.integer.hexadecimal.hyperstep-nasm
    mov eax, $label
;            ^^^^^^ - constant.numeric.integer.hexadecimal.hyperstep-nasm
