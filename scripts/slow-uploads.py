#!/usr/bin/env python3
"""Slow uploads against a running Parley node: does the rest of the API keep answering?

Registers six users, opens ten uploads per user that declare 1 MB and send one byte a second for
40 s, then measures /healthz, a login and a meeting list of another user 15 times. Prints how the
slow uploads were answered after 3 s (held open, or 429 beyond a user's limit) and the worst
latency of each probe.

Usage: scripts/slow-uploads.py [BASE_URL]   (default http://127.0.0.1:8080; python3 only)
"""
import argparse, socket, json, time, threading, urllib.request, urllib.parse
ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument('base', nargs='?', default='http://127.0.0.1:8080')
B = ap.parse_args().base.rstrip('/')
HOST, PORT = urllib.parse.urlparse(B).hostname, urllib.parse.urlparse(B).port or 80
def post(path, body, token=None):
    req=urllib.request.Request(B+path, data=json.dumps(body).encode(), headers={'Content-Type':'application/json', **({'Authorization':'Bearer '+token} if token else {})})
    try:
        with urllib.request.urlopen(req, timeout=10) as r: return r.status, json.loads(r.read() or b'{}')
    except urllib.error.HTTPError as e: return e.code, json.loads(e.read() or b'{}')
toks=[]
for u in range(6):
    e='slow%d@example.com'%u; post('/auth/register',{'email':e,'password':'correct horse'}); toks.append(post('/auth/login',{'email':e,'password':'correct horse'})[1]['token'])
post('/auth/register',{'email':'alice@example.com','password':'correct horse'})
conns=[]; codes={}
for t in toks:
    for i in range(10):
        s=socket.create_connection((HOST, PORT)); s.settimeout(0.2)
        s.sendall(('POST /meetings/upload HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: audio/wav\r\nContent-Length: 1000000\r\n\r\n'%t).encode())
        conns.append(s)
stop=time.time()+40
def trickle():
    while time.time()<stop:
        for s in conns:
            try: s.sendall(b'\0')
            except Exception: pass
        time.sleep(1)
threading.Thread(target=trickle,daemon=True).start()
time.sleep(3)
for s in conns:
    try:
        d=s.recv(12).decode()
        if d: codes[d]=codes.get(d,0)+1
    except Exception: codes['open']=codes.get('open',0)+1
print('answers to the %d slow uploads after 3 s:' % len(conns), codes)
worst={}
for k in range(15):
    for name,fn in [('healthz',lambda: urllib.request.urlopen(B+'/healthz',timeout=10).status),
                    ('login',lambda: post('/auth/login',{'email':'alice@example.com','password':'correct horse'})[0]),
                    ('list',lambda: urllib.request.urlopen(urllib.request.Request(B+'/meetings',headers={'Authorization':'Bearer '+toks[0]}),timeout=10).status)]:
        t0=time.time()
        try: c=fn()
        except Exception as e: c=str(e)[:40]
        dt=time.time()-t0; w=worst.get(name,(0,None));
        if dt>w[0]: worst[name]=(dt,c)
    time.sleep(1.5)
print('worst latency (s, status) of healthz/login/list during the slow uploads:', {k:(round(v[0],3),v[1]) for k,v in worst.items()})
