// The built-in int8 compute ceiling: 24 independent vpdpbusd chains on registers, no memory traffic.
// (`lowbit probe` will measure all the machine's limits; this is the one the GEMM benchmark needs.)
#include <cstdint>

namespace lowbit {

// Runs iters x 24 vpdpbusd (each 16 lanes x 4 multiply-adds = 128 integer ops).
void vnni_peak_loop(int64_t iters) {
  if (iters <= 0) return;
  __asm__ volatile(
      "vpxord %%zmm0, %%zmm0, %%zmm0\n"
      "vpternlogd $0xff, %%zmm28, %%zmm28, %%zmm28\n vpternlogd $0xff, %%zmm29, %%zmm29, %%zmm29\n"
      "1:\n"
      "vpdpbusd %%zmm28, %%zmm29, %%zmm0\n vpdpbusd %%zmm28, %%zmm29, %%zmm1\n"
      "vpdpbusd %%zmm28, %%zmm29, %%zmm2\n vpdpbusd %%zmm28, %%zmm29, %%zmm3\n"
      "vpdpbusd %%zmm28, %%zmm29, %%zmm4\n vpdpbusd %%zmm28, %%zmm29, %%zmm5\n"
      "vpdpbusd %%zmm28, %%zmm29, %%zmm6\n vpdpbusd %%zmm28, %%zmm29, %%zmm7\n"
      "vpdpbusd %%zmm28, %%zmm29, %%zmm8\n vpdpbusd %%zmm28, %%zmm29, %%zmm9\n"
      "vpdpbusd %%zmm28, %%zmm29, %%zmm10\n vpdpbusd %%zmm28, %%zmm29, %%zmm11\n"
      "vpdpbusd %%zmm28, %%zmm29, %%zmm12\n vpdpbusd %%zmm28, %%zmm29, %%zmm13\n"
      "vpdpbusd %%zmm28, %%zmm29, %%zmm14\n vpdpbusd %%zmm28, %%zmm29, %%zmm15\n"
      "vpdpbusd %%zmm28, %%zmm29, %%zmm16\n vpdpbusd %%zmm28, %%zmm29, %%zmm17\n"
      "vpdpbusd %%zmm28, %%zmm29, %%zmm18\n vpdpbusd %%zmm28, %%zmm29, %%zmm19\n"
      "vpdpbusd %%zmm28, %%zmm29, %%zmm20\n vpdpbusd %%zmm28, %%zmm29, %%zmm21\n"
      "vpdpbusd %%zmm28, %%zmm29, %%zmm22\n vpdpbusd %%zmm28, %%zmm29, %%zmm23\n"
      "dec %[k]\n jnz 1b\n"
      : [k] "+r"(iters)
      :
      : "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11",
        "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22",
        "xmm23", "xmm28", "xmm29");
}

}  // namespace lowbit
