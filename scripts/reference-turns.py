#!/usr/bin/env python3
"""How much each speaker of a reference RTTM talks alone: what a window-based pipeline can see.

For every file and speaker: total talk time, time talking alone (nobody else in the reference at
the same 10 ms frame), and the longest stretch alone. A speaker whose longest stretch alone is
shorter than the embedding window (1.5 s) never fills a window by themselves: every window that
holds their voice holds someone else's too, so clustering can only find them through mixed
windows. Also prints the overlapped time of each file.

Usage: scripts/reference-turns.py REF.rttm [WINDOW_SECONDS]   (python3 with numpy)
"""
import argparse, sys
import numpy as np


def main(rttm, window):
    turns = {}
    with open(rttm, encoding='utf-8') as f:
        for line in f:
            p = line.split()
            if p and p[0] == 'SPEAKER':
                start = float(p[3])
                turns.setdefault(p[1], []).append((start, start + float(p[4]), p[7]))
    print(f'file     overlap  speakers alone for >= {window:g} s  |  speaker: talk / alone / longest alone (s)')
    for fid in sorted(turns):
        frames = int(np.ceil(max(e for _, e, _ in turns[fid]) * 100))
        talking = {}
        for s, e, who in turns[fid]:
            talking.setdefault(who, np.zeros(frames, bool))[int(round(s * 100)):int(round(e * 100))] = True
        count = sum(m.astype(int) for m in talking.values())
        rows = []
        long_enough = 0
        for who, m in talking.items():
            alone = m & (count == 1)
            edges = np.diff(np.concatenate([[0], alone.astype(int), [0]]))
            runs = np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)
            longest = runs.max() / 100 if len(runs) else 0.0
            long_enough += longest >= window
            rows.append(f'{who}: {m.sum() / 100:.1f} / {alone.sum() / 100:.1f} / {longest:.2f}')
        print(f'{fid:8} {(count > 1).sum() / 100:6.1f} s  {long_enough} of {len(talking)}  |  ' + ' | '.join(rows))


if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('ref', metavar='REF.rttm')
    p.add_argument('window', metavar='WINDOW_SECONDS', type=float, nargs='?', default=1.5)
    a = p.parse_args()
    main(a.ref, a.window)
