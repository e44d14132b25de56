; Jump sizing as NASM -Ox does it: shortest displacement that reaches, forward references optimistic,
; exact boundaries at -128/+127, chains of jumps that grow each other, explicit short/near/strict.
; formats: bin elf32
bits 32
section .text
top:
    jmp fwd_127             ; reaches with rel8 exactly at the boundary
    times 127 nop
fwd_127:
    jmp fwd_128
    times 128 nop
fwd_128:
    jz fwd_jcc
    times 126 nop
fwd_jcc:
    jnz far_away
back_near:
    times 100 nop
    jmp back_near           ; -102: short
    times 30 nop
    jmp back_near           ; beyond -128: near
    loop back_loop
back_loop:
    jecxz back_loop
    call top
    call fwd_call
fwd_call:
    jmp short fwd_short
    jmp near fwd_short
    jmp strict near fwd_short
fwd_short:
    ; A chain: each jump's size depends on the next one's.
    jmp c1
    jmp c2
c1: times 62 nop
    jmp c3
c2: times 62 nop
c3: times 3 nop
    jc c4
    jnc c4
    ja c4
    jge c4
    jle c4
    jo c4
    js c4
    jp c4
c4:
    times 200 nop
far_away:
    ret
    jmp $
    jmp $+2
    jmp $$
