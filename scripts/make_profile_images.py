"""Draws the default profile images in assets/ (avatar.png 512x512, header.png
1500x500) with the Python standard library only. Run from assets/:
    cd assets && python3 ../scripts/make_profile_images.py
The mark: a white ring with a red dot and a sweep line (a radar: "watch").
"""
import zlib, struct, math
def png(path, w, h, px):
    rows = []
    for y in range(h):
        row = bytearray(b'\x00')
        for x in range(w):
            row += bytes(px(x, y))
        rows.append(bytes(row))
    data = zlib.compress(b''.join(rows), 9)
    def chunk(t, d):
        return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d) & 0xffffffff)
    out = b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 2, 0, 0, 0)) + chunk(b'IDAT', data) + chunk(b'IEND', b'')
    open(path, 'wb').write(out)
NAVY=(29,53,87); WHITE=(241,250,238); RED=(230,57,70)
S=512; C=S/2
def sample(x, y):
    d = math.hypot(x - C, y - C)
    if d < 64: return RED
    if 150 <= d <= 196: return WHITE
    # a sweep line from the centre to the ring, up and to the right (a radar)
    a = math.atan2(C - y, x - C)
    if 90 < d < 150 and abs(a - math.pi/4) * d < 10: return WHITE
    return NAVY
def avatar(x, y):
    acc=[0,0,0]; n=4
    for i in range(n):
        for j in range(n):
            c = sample(x + (i+0.5)/n, y + (j+0.5)/n)
            for k in range(3): acc[k]+=c[k]
    return tuple(round(v/(n*n)) for v in acc)
png('avatar.png', S, S, avatar)
W,H=1500,500
def header(x, y):
    if 300 <= y < 316: return RED
    t = y / H
    return tuple(round(NAVY[k]*(1-0.35*t)) for k in range(3))
png('header.png', W, H, header)
