; Preprocessor: %define (with parameters), %undef, %assign, %macro (%0, %%labels, greedy, defaults),
; %rep, %if/%elif/%else, %ifdef/%ifndef, %ifidn, %error-free paths (manual chapter 4).
; formats: bin elf32
bits 32
%define ONE 1
%define TWICE(x) (2 * (x))
%define ADD3(a, b, c) ((a) + (b) + (c))
%xdefine SNAP ONE
%define ONE 10
%idefine LOUD 5
%assign counter 0
%macro emit 1
    db %1
%endmacro
%macro pair 2
    dw %1, %2
    db %0
%endmacro
%macro withdef 1-3 7, 8
    db %1, %2, %3, %0
%endmacro
%macro greedy 1+
    db %1
%endmacro
%macro looper 1
%%top:
    dec ecx
    jnz %%top
    db %1
%endmacro
%macro nothing 0
    nop
%endmacro
section .text
start:
    emit ONE
    emit TWICE(3)
    emit ADD3(1, 2, 3)
    emit SNAP
    emit loud
    pair 1, 2
    withdef 1
    withdef 1, 2
    withdef 1, 2, 3
    greedy 1, 2, 3, 'x'
    looper 4
    looper 5
    nothing
%rep 4
    db counter
%assign counter counter + 1
%endrep
%assign i 0
%rep 100
%if i >= 3
%exitrep
%endif
    dw i * i
%assign i i+1
%endrep
%if counter == 4
    db 'y'
%elif counter == 5
    db 'n'
%else
    db '?'
%endif
%if 0
    db 'never'
%if 1
    db 'nested never'
%endif
%elif 1
    db 'elif'
%endif
%ifdef ONE
    db 'd'
%endif
%ifndef UNDEFINED_THING
    db 'u'
%endif
%undef ONE
%ifdef ONE
    db 'still'
%else
    db 'gone'
%endif
%ifidn foo, foo
    db 1
%endif
%ifidni Foo, fOO
    db 2
%endif
%ifnidn a, b
    db 3
%endif
%ifnum 42
    db 4
%endif
%ifstr 'x'
    db 5
%endif
%ifmacro looper
    db 6
%endif
%macro multi 1-*
    db %0
%rep %0
    db %1
%rotate 1
%endrep
%endmacro
    multi 9, 8, 7
    multi 1
%define PASTE(a, b) a %+ b
%macro labelled 0
%%here:
    dd %%here
%endmacro
    labelled
inner: labelled
    ret
; (nasm 2.16.01 stops emitting after a recursive %rmacro expansion ends, so it comes last)
%rmacro recurse 1
%if %1 > 0
    db %1
    recurse %1 - 1
%endif
%endmacro
    recurse 3
