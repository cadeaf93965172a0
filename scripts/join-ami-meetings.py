#!/usr/bin/env python3
"""Joins the ami-dev excerpts that come from one meeting into longer recordings, with RTTM and UEM.

ami-dev's ten 30 s excerpts share speakers: trn00-trn03 (FEO065, FEO066, MEE067, MEE068, MÉO069),
trn06 and trn09 (FEE083), trn07 and trn08 (FEE087, FEE088, MEE089, MEO086). Joined, they give
three recordings of 60-120 s in which a talker must be recognised across excerpts, as in a whole
meeting: a check that 30 s clips cannot make. The excerpts are butted together, so each join is
an abrupt cut.

Usage: scripts/join-ami-meetings.py OUT_DIR   (python3 with numpy and scipy)
Then: java -jar node/target/parley.jar eval --ref OUT_DIR/ami-joined.rttm --uem OUT_DIR/ami-joined.uem OUT_DIR
"""
import argparse, os, sys
import numpy as np
import scipy.io.wavfile as wavfile

AMI = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'shared', 'data', 'ami-dev')
MEETINGS = {'joined1': ['trn00', 'trn01', 'trn02', 'trn03'], 'joined2': ['trn06', 'trn09'], 'joined3': ['trn07', 'trn08']}


def main(out):
    os.makedirs(out, exist_ok=True)
    turns = {}
    with open(os.path.join(AMI, 'ami-dev.rttm'), encoding='utf-8') as f:
        for line in f:
            p = line.split()
            turns.setdefault(p[1], []).append(p)
    with open(os.path.join(out, 'ami-joined.rttm'), 'w', encoding='utf-8') as rttm, \
            open(os.path.join(out, 'ami-joined.uem'), 'w', encoding='utf-8') as uem:
        for name, parts in MEETINGS.items():
            audio, offset, rate = [], 0.0, None
            for part in parts:
                rate, x = wavfile.read(os.path.join(AMI, part + '.wav'))
                audio.append(x)
                for p in turns.get(part, []):
                    q = list(p)
                    q[1], q[3] = name, '%.3f' % (float(p[3]) + offset)
                    rttm.write(' '.join(q) + '\n')
                offset += len(x) / rate
            wavfile.write(os.path.join(out, name + '.wav'), rate, np.concatenate(audio))
            uem.write('%s NA 0.000 %.3f\n' % (name, offset))
    print('wrote %d recordings to %s' % (len(MEETINGS), out))


if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('out', metavar='OUT_DIR', help='directory for the joined recordings, ami-joined.rttm and .uem')
    main(p.parse_args().out)
