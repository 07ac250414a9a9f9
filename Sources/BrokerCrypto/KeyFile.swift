import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Key and token files: written 0600, refused when group or others can read them.
public enum KeyFile {
    /// Writes `contents` to `path` with mode 0600. Without `overwrite`, an existing file is an error.
    public static func write(_ contents: String, to path: String, overwrite: Bool = false) throws {
        if !overwrite, FileManager.default.fileExists(atPath: path) {
            throw CryptoError(.keyFileExists, "\(path) exists")
        }
        // Write a private temporary file beside the target and rename it over: the key is
        // never visible with a wider mode, and never half-written.
        let temporary = path + ".tmp-" + SecureRandom.token(bytes: 6)
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw CryptoError(.io, "cannot create \(path)") }
        let handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
        var ok = fchmod(descriptor, 0o600) == 0
        if ok {
            do {
                try handle.write(contentsOf: Data(contents.utf8))
                try handle.synchronize()
            } catch {
                ok = false
            }
        }
        try? handle.close()
        guard ok else {
            unlink(temporary)
            throw CryptoError(.io, "cannot write \(path)")
        }
        if overwrite {
            guard rename(temporary, path) == 0 else {
                unlink(temporary)
                throw CryptoError(.io, "cannot write \(path)")
            }
        } else {
            // link() fails if the target appeared since the check above: never replace a key.
            let linked = link(temporary, path)
            let linkError = errno
            unlink(temporary)
            guard linked == 0 else {
                throw linkError == EEXIST ? CryptoError(.keyFileExists, "\(path) exists") : CryptoError(.io, "cannot write \(path)")
            }
        }
    }

    /// Reads a key file, refusing it when its mode lets group or others read or write it.
    /// The checks are made on the opened descriptor, so what is checked is what is read
    /// (no window for a swap between check and read); symlinks are followed, as secret
    /// mounts use them, and the file they lead to is what must be private.
    public static func read(_ path: String) throws -> String {
        // O_NONBLOCK: a FIFO planted at the path must not hang the reader before the
        // regular-file check below refuses it.
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard descriptor >= 0 else { throw CryptoError(.io, "cannot read \(path)") }
        let handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
        defer { try? handle.close() }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw CryptoError(.io, "cannot read \(path)") }
        guard (status.st_mode & S_IFMT) == S_IFREG else { throw CryptoError(.io, "\(path) is not a regular file") }
        guard status.st_mode & 0o077 == 0 else {
            throw CryptoError(.insecureKeyFile, "\(path) is readable by others (mode \(String(status.st_mode & 0o777, radix: 8))); run chmod 600 \(path)")
        }
        guard status.st_size <= 1 << 20, let data = try? handle.readToEnd() else {
            throw CryptoError(.io, "cannot read \(path)")
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// Creates a directory (and parents) with mode 0700 if it does not exist.
    public static func ensurePrivateDirectory(_ path: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        } catch {
            throw CryptoError(.io, "cannot create \(path)")
        }
    }
}
