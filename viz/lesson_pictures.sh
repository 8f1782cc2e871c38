#!/bin/sh
# Regenerates the lesson pictures with the viewer's own headless renderer
# (build/transformer-viz --snapshot). Run from the repository root after `make`:
#   sh viz/lesson_pictures.sh
# The fr-en pictures explore the shipped model (data/fr-en.ckpt, seconds); the reverse
# pictures train the reverse task for 2000 steps first (minutes), so the curves and the
# anti-diagonal cross-attention come from a real run. Each --snapshot draws one picture
# with the view options given before it.
set -e
viz=./build/transformer-viz
L=lessons

# Lesson 03: the sinusoids of §3.5 for d_model = 128, the PE matrix and PE·PEᵀ.
$viz --explore --view positional --snapshot $L/03-positional-encoding/viewer-positional-encoding.png

# Lesson 04: one head of masked decoder self-attention (the causal mask is hatched).
$viz --explore --probe "la voiture rouge est dans le jardin" --kind decoder --layer 1 --head 1 \
    --snapshot $L/04-attention/viewer-masked-self-attention.png

# Lesson 05: all heads of one layer look at different things ("ne ... pas" -> "not").
$viz --explore --probe "je ne mange pas de viande" --kind cross --layer 2 --head all \
    --snapshot $L/05-multi-head/viewer-all-heads.png

# Lesson 06: encoder self-attention, all heads of layer 1.
$viz --explore --probe "la voiture rouge est dans le jardin" --kind encoder --layer 1 --head all \
    --snapshot $L/06-encoder/viewer-encoder-self-attention.png

# Lesson 07: encoder-decoder attention on the paper's sentence.
$viz --explore --kind cross --layer 2 --head all --snapshot $L/07-decoder/viewer-cross-attention.png

# Lessons 04 and 08: the reverse task trained live: an anti-diagonal cross-attention
# head, and the loss, learning-rate and entropy curves of the run.
$viz --task reverse --frames 2000 \
    --kind cross --layer 2 --head 1 --snapshot $L/04-attention/viewer-reverse-cross-attention.png \
    --view training --snapshot $L/08-training/viewer-training-curves.png

# Lesson 08: the reverse task's cross-attention forming over the recorded run
# (data/reverse.history, written by `build/transformer train --task reverse`), as an
# animated PNG drawn by the viewer's own encoder: every second frame, 640x360.
$viz --replay data/reverse.history --kind cross --layer 2 --head 1 --size 640x360 --no-captions --every 2 \
    --animate $L/08-training/viewer-reverse-forming.png
