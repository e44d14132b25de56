; Token pasting with %+ outside macro bodies (NASM manual 4.1.4: a jump table built with %assign/%rep), and
; near indirect JMP/CALL through unsized memory, which take the code size (FF /4, FF /2 with m32 or m16).
; formats: bin elf32
bits 32
section .text
dispatch:
    jmp [handler_ptr]
    call [handler_ptr]
    jmp [table + eax*4]
    call [ebx]
%define PREFIX entry_
%assign k 0
%rep 4
    dd PREFIX %+ k
    dd entry_%+k
%assign k k + 1
%endrep
    db 'a %+ b', "%+"
entry_0: ret
entry_1: ret
entry_2: ret
entry_3: ret
bits 16
    jmp [handler_ptr]
    call [bx]
bits 32
section .data
handler_ptr: dd entry_0
table: dd entry_0, entry_1, entry_2, entry_3
