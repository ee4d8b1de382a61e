#!/usr/bin/env bash
# Makes the demo's speech clip: silence, a sentence, a pause, a sentence, silence, as 16 kHz mono int16 WAV,
# plus a JSON file saying where the speech is (sample ranges), which the demo checks its detections against.
# Needs Debian's espeak-ng and sox: apt-get install -y espeak-ng sox
set -euo pipefail
out=$(cd "$(dirname "$0")/../demo" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rate=16000
say() { espeak-ng -v en-us -s 150 -w "$work/raw.wav" "$1" && sox "$work/raw.wav" -r $rate -c 1 -b 16 "$work/$2.wav"; }
silence() { sox -n -r $rate -c 1 -b 16 "$work/$2.wav" trim 0 "$1"; }
silence 1.0 lead
say "Edge run loads ONNX, TensorFlow Lite and PyTorch Mobile models with one runtime." first
silence 1.5 pause
say "It runs wherever JavaScript runs, and gives the same numbers as the original runtime." second
silence 1.0 tail
sox "$work/lead.wav" "$work/first.wav" "$work/pause.wav" "$work/second.wav" "$work/tail.wav" "$out/speech_16k.wav"
samples() { soxi -s "$work/$1.wav"; }
lead=$(samples lead); first=$(samples first); pause=$(samples pause); second=$(samples second); tail=$(samples tail)
start2=$((lead + first + pause))
cat > "$out/speech_16k.json" <<JSON
{
  "sampleRate": $rate,
  "samples": $((lead + first + pause + second + tail)),
  "speech": [[$lead, $((lead + first))], [$start2, $((start2 + second))]],
  "made": "scripts/make-demo-speech.sh with espeak-ng (voice en-us, 150 wpm) and sox"
}
JSON
echo "wrote $out/speech_16k.wav and $out/speech_16k.json"
