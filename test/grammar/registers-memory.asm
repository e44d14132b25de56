; SYNTAX TEST "source.asm.nasm.hyperstep" "registers, memory operands, size keywords, jump modifiers"

    mov al, ah
;       ^^ variable.other.register.general.hyperstep-nasm
;           ^^ variable.other.register.general.hyperstep-nasm
    mov bx, di
;       ^^ variable.other.register.general.hyperstep-nasm
;           ^^ variable.other.register.general.hyperstep-nasm
    mov ESP, ebp
;       ^^^ variable.other.register.general.hyperstep-nasm
;            ^^^ variable.other.register.general.hyperstep-nasm
    mov ds, ax
;       ^^ variable.other.register.segment.hyperstep-nasm
    push fs
;        ^^ variable.other.register.segment.hyperstep-nasm
    mov eax, [ebx + esi*4 + 0x10]
;            ^ meta.memory-operand.hyperstep-nasm punctuation.definition.memory.begin.hyperstep-nasm
;             ^^^ meta.memory-operand.hyperstep-nasm variable.other.register.general.hyperstep-nasm
;                   ^^^ variable.other.register.general.hyperstep-nasm
;                      ^ keyword.operator.hyperstep-nasm
;                       ^ constant.numeric.integer.decimal.hyperstep-nasm
;                           ^^^^ constant.numeric.integer.hexadecimal.hyperstep-nasm
;                               ^ punctuation.definition.memory.end.hyperstep-nasm
    mov byte [es:edi], 0
;       ^^^^ storage.type.size.hyperstep-nasm
;             ^^ variable.other.register.segment.override.hyperstep-nasm
;               ^ punctuation.separator.segment-override.hyperstep-nasm
    mov word [fs:0], 1
;       ^^^^ storage.type.size.hyperstep-nasm
;             ^^ variable.other.register.segment.override.hyperstep-nasm
    inc dword [counter]
;       ^^^^^ storage.type.size.hyperstep-nasm
    fld qword [pi]
;       ^^^^^ storage.type.size.hyperstep-nasm
    fstp tword [x]
;        ^^^^^ storage.type.size.hyperstep-nasm
    mov eax, dword ptr [x]
;                  ^^^ invalid.illegal.masm-ptr.hyperstep-nasm
    jmp short .next
;       ^^^^^ storage.modifier.jump.hyperstep-nasm
    jmp near far_target
;       ^^^^ storage.modifier.jump.hyperstep-nasm
;            ^^^^^^^^^^ - storage.modifier.jump.hyperstep-nasm
    call far [vector]
;        ^^^ storage.modifier.jump.hyperstep-nasm
    push strict dword 5
;        ^^^^^^ storage.modifier.jump.hyperstep-nasm
    jmp 0x08:.flush
;       ^^^^ constant.numeric.integer.hexadecimal.hyperstep-nasm
    mov eax, cr2
;            ^^^ variable.other.register.control.hyperstep-nasm
    mov dr0, ebx
;       ^^^ variable.other.register.debug.hyperstep-nasm
    mov eax, [eax_copy]
;             ^^^^^^^^ - variable.other.register.general.hyperstep-nasm
    rep movsb
;   ^^^ keyword.other.prefix.hyperstep-nasm
;       ^^^^^ keyword.other.instruction.hyperstep-nasm
    lock xadd [ecx], eax
;   ^^^^ keyword.other.prefix.hyperstep-nasm
;        ^^^^ keyword.other.instruction.hyperstep-nasm
    mov eax, [ebx
;            ^^^^ meta.memory-operand.hyperstep-nasm
    nop
;   ^^^ keyword.other.instruction.hyperstep-nasm - meta.memory-operand.hyperstep-nasm
