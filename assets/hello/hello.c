/*
 * berth's built-in "hello" image: a tiny static program with no libc, in the spirit of
 * docker's hello-world. It only writes a message to stdout and exits, using raw system
 * calls, so it builds the same on any Linux machine with gcc and runs in an empty rootfs.
 *
 * Built by engine/build.rs:
 *   cc -nostdlib -static -Os -fno-stack-protector -fno-asynchronous-unwind-tables \
 *      -fno-ident -fno-pie -no-pie -Wl,--build-id=none -s -o hello hello.c
 */

#if defined(__x86_64__)
#define SYS_WRITE 1
#define SYS_EXIT_GROUP 231
#elif defined(__aarch64__)
#define SYS_WRITE 64
#define SYS_EXIT_GROUP 94
#else
#error "hello.c supports x86_64 and aarch64"
#endif

#define EINTR 4

static const char message[] =
    "\n"
    "Hello from berth!\n"
    "This message shows that your installation appears to be working correctly.\n"
    "\n"
    "To generate this message, berth took the following steps:\n"
    " 1. berth found the \"hello\" image in its store. The image is built into\n"
    "    berth itself, so no registry or network was needed.\n"
    " 2. berth created a new container from that image, which runs the\n"
    "    executable that produced the output you are currently reading.\n"
    " 3. berth streamed that output to your terminal.\n"
    "\n"
    "To try something more ambitious, you can run a shell in a container:\n"
    " $ berth run -it busybox sh\n"
    "\n"
    "To watch your containers and images live, open the dashboard:\n"
    " $ berth\n"
    "\n";

static long syscall3(long n, long a, long b, long c) {
#if defined(__x86_64__)
    long ret;
    __asm__ volatile("syscall" : "=a"(ret) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
    return ret;
#else
    register long x8 __asm__("x8") = n;
    register long x0 __asm__("x0") = a;
    register long x1 __asm__("x1") = b;
    register long x2 __asm__("x2") = c;
    __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2) : "memory");
    return x0;
#endif
}

static void __attribute__((noreturn)) exit_group(int code) {
    for (;;) {
        syscall3(SYS_EXIT_GROUP, code, 0, 0);
    }
}

void __attribute__((noreturn, used)) _start(void) {
    const char *p = message;
    long left = (long)sizeof(message) - 1;
    while (left > 0) {
        long n = syscall3(SYS_WRITE, 1, (long)p, left);
        if (n == -EINTR) {
            continue;
        }
        if (n <= 0) {
            exit_group(1);
        }
        p += n;
        left -= n;
    }
    exit_group(0);
}
