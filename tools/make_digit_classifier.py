"""Re-create the pinned weights of the course's digit classifier, the feature network of its digit metric.

    python tools/make_digit_classifier.py            # writes gan_tutorial/assets/digit_classifier.pt

How the shipped file was made (the one that ``metrics.digit_classifier()`` loads and checks):

* data: the 4,000 training digits of ``metrics.mnist5k_split()`` (seed 0; the 1,000 held-out
  digits are never seen), scaled to [-1, 1];
* training: ``metrics.train_digit_classifier`` with its defaults: seed 0, 12 epochs, batch 64,
  Adam at 1e-3 falling linearly to 0, random shifts of up to 2 pixels; float32 on one CPU thread;
* storage: every weight rounded to float16 (the file is half as large; the features are then
  computed in float32 from exactly those values on every machine);
* test accuracy on the 1,000 held-out digits: printed below (97.6% for the shipped file).

Training is not bitwise repeatable across processors (oneDNN and ATen choose different kernels),
which is why the weights ship instead of being trained on each machine. A file made again on
another processor differs: then every committed digit result must be re-scored and
``DIGIT_CLASSIFIER_SHA256`` in ``gan_tutorial/evaluation/digit_metric.py`` updated, as for any new FID network.
"""

import argparse
import hashlib
import io
from pathlib import Path

import torch

from gan_tutorial import metrics

OUT = Path(__file__).resolve().parents[1] / "gan_tutorial" / "assets" / "digit_classifier.pt"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", type=Path, default=OUT)
    args = p.parse_args()
    torch.set_num_threads(1)
    (x_tr, y_tr), (x_te, y_te) = metrics.mnist5k_split()
    model = metrics.train_digit_classifier(x_tr, y_tr, seed=0, progress=True)
    state = {k: v.detach().to(torch.float16) for k, v in model.state_dict().items()}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()  # through a buffer: the archive's inner name is then "archive", whatever the file's
    torch.save(state, buffer)
    args.out.write_bytes(buffer.getvalue())
    pinned = metrics.DigitClassifier()
    pinned.load_state_dict({k: v.float() for k, v in state.items()})
    digest = hashlib.sha256(args.out.read_bytes()).hexdigest()
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e3:.0f} kB), sha256 {digest}")
    print(f"test accuracy on the {len(y_te)} held-out digits: {metrics.accuracy(pinned.eval(), x_te, y_te):.1%} "
          f"(float32 before rounding: {metrics.accuracy(model, x_te, y_te):.1%})")


if __name__ == "__main__":
    main()
