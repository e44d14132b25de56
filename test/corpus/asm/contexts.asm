; The context stack (%push/%pop/%repl, %$local labels and macros, %ifctx), condition-code parameters
; (%-1, %+1), %00, and the string functions %strlen/%substr/%strcat (NASM manual 4.2, 4.3, 4.7).
; formats: bin elf32
bits 32
%macro myif 1
  %push myif
  j%-1 %$ifnot
%endmacro
%macro myelse 0
  %ifctx myif
    %repl else
    jmp %$ifend
    %$ifnot:
  %else
    %error "expected myif"
  %endif
%endmacro
%macro myendif 0
  %ifctx myif
    %$ifnot:
    %pop
  %elifctx else
    %$ifend:
    %pop
  %else
    %error "expected myif or else"
  %endif
%endmacro
%macro lbl 0
%00: nop
 dd %00
%endmacro
start:
  cmp eax, ebx
  myif e
    mov eax, 1
  myelse
    mov eax, 2
  myendif
%push outer
%define %$val 7
%push inner
%define %$val 9
  mov eax, %$val
  mov ebx, %$$val
%$here: jmp %$here
%$$there: jmp %$$there
%pop
%pop
%strlen L 'hello'
  db L
%substr S 'hello', 2, 3
  db S
%substr S2 'hello', 3
  db S2
%substr S3 "it's", 2, -1
  db S3
%strcat C 'ab', "cd", 'e"f'
  db C
%strcat C2 "it's", ' x'
  db C2
foo: lbl
%macro jump_if 2
  j%+1 %2
  j%-1 %2
%endmacro
  jump_if nz, start
  jump_if ae, start
  jump_if le, start
  jump_if po, start
%macro nested 0
  %push outer_ctx
  %$top:
  %push inner_ctx
  %$inner: jmp %$$top
  %pop inner_ctx
  jmp %$top
  %pop
%endmacro
  nested
  nested
%strlen EMPTY ''
  db EMPTY, 1
%substr LAST 'abcdef', 4, -1
  db LAST
%substr MID 'abcdef', 2, 2
%strcat JOINED MID, '-', LAST
  db JOINED
%strlen JL JOINED
  times JL db 0x90
%define GREETING 'hi'
%strcat FULL GREETING, ", you"
  db FULL, 0
