#!/usr/bin/env python3
"""Simulated meetings from speakers no Parley model was trained on, with a reference RTTM and UEM.

The 40 held-out LibriSpeech speakers of the speaker model (gpu-role/src/main/resources/models/
parley-embed/heldout-librispeech.txt) are grouped four to a meeting (10 meetings, 46-73 s each).
Each meeting alternates turns of 2-6 s taken in order from its speakers' utterances, with pauses
of 0.2-1 s and no overlap; each speaker gets a fixed level 0-6 dB below the others (distance to the
microphone). The whole meeting is then heard through one synthetic room (exponentially decaying
noise tail, RT60 0.3-0.8 s, direct-to-reverberant ratio -5..5 dB), a random channel colouring
(3 peaking filters, +-8 dB) and coloured noise at 15-25 dB SNR. --clean skips room and colouring
(noise only). --telephone is --clean heard through a telephone line: band-passed to 300-3400 Hz by
ffmpeg and stored as 8 kHz G.711 mu-law WAV, as a dial-in or call recording arrives. --overlap makes
people talk over each other as in real meetings: a turn starts 0.3-1.5 s before the previous one ends
with p = 0.3, and with p = 0.3 another speaker drops a 0.4-1 s backchannel into the middle of a turn
(combine with --clean or the default rooms). Everything is drawn from a fixed seed, so the files are
the same on every machine (and the same as before for the sets without --overlap).

This measures what ami-dev cannot: speakers, rooms and speech the models never met. The rooms use
the same recipe family as Parley's training augmentation, so the figures favour Parley's models;
read them as a check on generalisation, not as a substitute for real recordings.

--single writes one recording per held-out speaker instead (40 files): the speaker's whole utterance alone, one turn,
in its own room (or --clean): a talker heard by one distant microphone, as in a voice memo or a lecture, must stay one
speaker.

Usage: scripts/simulate-meetings.py OUT_DIR [--clean | --telephone] [--overlap | --single]   (python3 with numpy and scipy; ffmpeg from
$FFMPEG, the PATH, or the copy Parley's decoder unpacks under /tmp/jave)
Then: java -jar node/target/parley.jar eval --ref OUT_DIR/sim.rttm --uem OUT_DIR/sim.uem OUT_DIR
"""
import argparse, glob, os, shutil, subprocess, sys
import numpy as np
import scipy.io.wavfile as wavfile
import scipy.signal as signal

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')
LIBRI = os.path.join(ROOT, '..', 'shared', 'data', 'librispeech-speakers')
HELD_OUT = os.path.join(ROOT, 'gpu-role/src/main/resources/models/parley-embed/heldout-librispeech.txt')
SR = 16000


def ffmpeg():
    found = os.environ.get('FFMPEG') or shutil.which('ffmpeg') or next(iter(sorted(glob.glob('/tmp/jave/ffmpeg-*'))), None)
    if not found:
        sys.exit('no ffmpeg: set FFMPEG, install one, or run any parley.jar command that decodes audio once')
    return found


def load(path, ff):
    raw = subprocess.run([ff, '-v', 'quiet', '-i', path, '-f', 'f32le', '-ac', '1', '-ar', str(SR), '-'],
                         capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.float32).astype(np.float64)


def room(rng):
    rt60, drr = rng.uniform(0.3, 0.8), rng.uniform(-5, 5)
    n = int(rt60 * SR)
    tail = rng.standard_normal(n) * np.exp(-6.908 * np.arange(n) / n)
    tail *= np.sqrt(10 ** (-drr / 10) / np.sum(tail ** 2))
    h = np.concatenate([[1.0], np.zeros(rng.integers(1, 80)), tail])
    return h / np.linalg.norm(h)


def peaking(x, f, gain_db, q):
    a = 10 ** (gain_db / 40)
    w = 2 * np.pi * f / SR
    alpha = np.sin(w) / (2 * q)
    c = np.cos(w)
    return signal.lfilter([1 + alpha * a, -2 * c, 1 - alpha * a], [1 + alpha / a, -2 * c, 1 - alpha / a], x)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('out', metavar='OUT_DIR', help='directory for the recordings, sim.rttm and sim.uem')
    kind = p.add_mutually_exclusive_group()
    kind.add_argument('--clean', action='store_true', help='no room or colouring, noise only')
    kind.add_argument('--telephone', action='store_true', help='--clean through an 8 kHz mu-law telephone line')
    shape = p.add_mutually_exclusive_group()
    shape.add_argument('--overlap', action='store_true', help='interruptions and backchannels')
    shape.add_argument('--single', action='store_true', help='one recording per talker, alone')
    a = p.parse_args()
    out, telephone, overlap, single = a.out, a.telephone, a.overlap, a.single
    clean = telephone or a.clean
    os.makedirs(out, exist_ok=True)
    ff = ffmpeg()
    held = [l.strip() for l in open(HELD_OUT) if l.strip() and not l.startswith('#')]
    files = {f.split('-')[0]: f for f in os.listdir(LIBRI) if f.endswith('.flac')}
    rng = np.random.default_rng(7)
    with open(os.path.join(out, 'sim.rttm'), 'w') as rttm, open(os.path.join(out, 'sim.uem'), 'w') as uem:
        groups = [[s] for s in held] if single else [held[4 * m:4 * m + 4] for m in range(len(held) // 4)]
        for m, speakers in enumerate(groups):
            fid = ('single%02d' if single else 'sim%02d') % m
            audio = {s: load(os.path.join(LIBRI, files[s]), ff) for s in speakers}
            pos = {s: 0 for s in speakers}
            h = room(rng)
            bands = [(150 * (6000 / 150) ** rng.random(), rng.uniform(-8, 8), rng.uniform(0.7, 2)) for _ in range(3)]
            level = {s: 10 ** (rng.uniform(-6, 0) / 20) for s in speakers}
            x = np.zeros(100 * SR)
            cur = int(rng.uniform(0.5, 1.5) * SR)  # samples: where the next turn starts without overlap
            last, prev_start, pause_n = None, 0, 0

            def place(piece, at, speaker):
                x[at:at + len(piece)] += piece / (np.sqrt(np.mean(piece ** 2)) + 1e-9) * 0.03 * level[speaker]
                rttm.write('SPEAKER %s 1 %.3f %.3f <NA> <NA> %s <NA> <NA>\n' % (fid, at / SR, len(piece) / SR, speaker))

            while cur / SR <= 75:
                left = [s for s in speakers if len(audio[s]) - pos[s] > SR and s != last]
                if not left:
                    break
                s = left[rng.integers(len(left))]
                n = len(audio[s]) if single else min(int(rng.uniform(2, 6) * SR), len(audio[s]) - pos[s])
                turn = audio[s][pos[s]:pos[s] + n]
                pos[s] += n
                at = cur
                if overlap and last is not None and rng.random() < 0.3:  # an interruption
                    at = max(prev_start + SR // 2, at - int(rng.uniform(0.3, 1.5) * SR) - pause_n)
                place(turn, at, s)
                if overlap and n > 2 * SR and rng.random() < 0.3:  # someone else backs the talker up
                    others = [o for o in speakers if o != s and len(audio[o]) - pos[o] > SR]
                    if others:
                        o = others[rng.integers(len(others))]
                        b = int(rng.uniform(0.4, 1.0) * SR)
                        place(audio[o][pos[o]:pos[o] + b], at + n // 2 - b // 2, o)
                        pos[o] += b
                prev_start, last = at, s
                pause_n = int(rng.uniform(0.2, 1.0) * SR)
                cur = at + n + pause_n
            x = x[:cur]
            y = x.copy() if clean else signal.fftconvolve(x, h)[:len(x)]
            for f, g, q in ([] if clean else bands):
                y = peaking(y, f, g, q)
            noise = signal.lfilter([1], [1, -0.9], rng.standard_normal(len(y)))
            speech_rms = np.sqrt(np.mean(y[np.abs(x) > 0] ** 2))
            y = y + noise / np.sqrt(np.mean(noise ** 2)) * speech_rms / 10 ** (rng.uniform(15, 25) / 20)
            path = os.path.join(out, fid + '.wav')
            wavfile.write(path, SR, y.astype(np.float32))
            if telephone:
                subprocess.run([ff, '-v', 'quiet', '-y', '-i', path, '-af', 'highpass=f=300,lowpass=f=3400',
                                '-ar', '8000', '-c:a', 'pcm_mulaw', path + '.tmp.wav'], check=True)
                os.replace(path + '.tmp.wav', path)
            uem.write('%s NA 0.000 %.3f\n' % (fid, len(y) / SR))
            print('%s: speakers %s, %.1f s' % (fid, ' '.join(speakers), len(y) / SR))


if __name__ == '__main__':
    main()
