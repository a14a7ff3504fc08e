// Must not build with -Wthread-safety -Werror: Bump writes count_ without holding mu_.
#include "common/mutex.h"

namespace sluice::layering_probe {

class Counter {
 public:
  void Bump() { ++count_; }

 private:
  Mutex mu_;
  int count_ SLUICE_GUARDED_BY(mu_) = 0;
};

void BumpOnce() {
  Counter c;
  c.Bump();
}

}  // namespace sluice::layering_probe
