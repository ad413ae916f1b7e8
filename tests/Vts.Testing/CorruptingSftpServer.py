"""A target that keeps other bytes than it acknowledges (tests of R9): an SFTP server that stands between sshd and
OpenSSH's sftp-server, flips one bit of the first write that covers the byte at OFFSET, and lets the real server write
that and answer OK, as a disk or a server that corrupts what it was sent would.

    python3 CorruptingSftpServer.py OFFSET /usr/lib/openssh/sftp-server

Requests pass through whole and in order; the answers go from the real server to sshd untouched (its stdout is ours).
"""
import struct
import subprocess
import sys

SSH_FXP_WRITE = 6


def read_exactly(stream, n):
    data = stream.read(n)
    return data if len(data) == n else None


def main():
    offset = int(sys.argv[1])
    server = subprocess.Popen([sys.argv[2]], stdin=subprocess.PIPE)
    requests = sys.stdin.buffer
    flipped = False
    while (head := read_exactly(requests, 4)) is not None:
        body = read_exactly(requests, struct.unpack(">I", head)[0])
        if body is None:
            break
        if not flipped and body[0] == SSH_FXP_WRITE:
            # uint32 id, string handle, uint64 offset, string data
            handle_length = struct.unpack_from(">I", body, 5)[0]
            at = 9 + handle_length
            start, length = struct.unpack_from(">QI", body, at)
            if start <= offset < start + length:
                body = bytearray(body)
                body[at + 12 + offset - start] ^= 0x01
                flipped = True
        server.stdin.write(head + bytes(body))
        server.stdin.flush()
    server.stdin.close()
    sys.exit(server.wait())


if __name__ == "__main__":
    main()
