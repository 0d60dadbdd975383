package org.apache.hadoop.fs.s3a;

import java.io.File;
import java.io.FileNotFoundException;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileAlreadyExistsException;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RawLocalFileSystem;
import org.apache.hadoop.fs.permission.FsPermission;
import org.apache.hadoop.util.Progressable;

/**
 * TEST STAND-IN for hadoop-aws's S3A file system, NOT the real connector.
 *
 * The apache/spark image has no S3A connector; KubeGrid's docs tell teams to add hadoop-aws
 * and the AWS SDK bundle to their image. This class takes the real connector's place in the
 * emulated image (same class name, so core-default.xml's fs.s3a.impl finds it) and keeps
 * "s3a://bucket/key" objects as files under a directory of the emulated cluster
 * (system property kubegrid.s3.root, default /var/run/kubegrid-s3), one directory per bucket.
 *
 * It keeps the S3A behaviours Spark's event logging depends on:
 * - a prefix with no object under it does not exist: getFileStatus throws
 *   FileNotFoundException (S3A: HEAD and a LIST of the prefix find nothing);
 * - an object appears only when its output stream is closed (S3A uploads on close; there is
 *   no hflush), so an in-progress event log is invisible until then;
 * - mkdirs writes a directory marker; rename is copy-then-delete.
 * It checks no credentials, endpoint or bucket policy: those are AWS's (the stack's IAM policy
 * is tested in tests/aws, the network path by the NetworkPolicy checks).
 */
public class S3AFileSystem extends FileSystem {
  private URI uri;
  private File bucketDir;
  private Path workingDir;
  private final RawLocalFileSystem local = new RawLocalFileSystem();

  @Override
  public void initialize(URI name, Configuration conf) throws IOException {
    super.initialize(name, conf);
    setConf(conf);
    uri = URI.create("s3a://" + name.getAuthority());
    File root = new File(System.getProperty("kubegrid.s3.root", "/var/run/kubegrid-s3"));
    bucketDir = new File(root, name.getAuthority());
    if (!bucketDir.isDirectory()) {
      throw new FileNotFoundException("Bucket " + name.getAuthority() + " does not exist (stand-in S3 at " + root + ")");
    }
    workingDir = new Path(uri.toString() + "/");
    local.initialize(URI.create("file:///"), conf);
  }

  @Override public String getScheme() { return "s3a"; }
  @Override public URI getUri() { return uri; }
  @Override public Path getWorkingDirectory() { return workingDir; }
  @Override public void setWorkingDirectory(Path dir) { workingDir = qualify(dir); }

  private Path qualify(Path p) { return p.makeQualified(uri, workingDir); }

  private File file(Path p) {
    String key = qualify(p).toUri().getPath();
    return key.isEmpty() || key.equals("/") ? bucketDir : new File(bucketDir, key.substring(1));
  }

  private Path path(File f) {
    String rel = bucketDir.toURI().relativize(f.toURI()).getPath();
    return new Path(uri.toString() + "/" + rel.replaceAll("/$", ""));
  }

  private FileStatus status(File f) {
    return new FileStatus(f.isDirectory() ? 0 : f.length(), f.isDirectory(), 1, 32 * 1024 * 1024,
        f.lastModified(), path(f));
  }

  @Override
  public FileStatus getFileStatus(Path p) throws IOException {
    File f = file(p);
    if (!f.exists()) {
      throw new FileNotFoundException("No such file or directory: " + qualify(p));
    }
    return status(f);
  }

  @Override
  public FileStatus[] listStatus(Path p) throws IOException {
    File f = getFileStatus(p).isDirectory() ? file(p) : null;
    if (f == null) {
      return new FileStatus[] {status(file(p))};
    }
    List<FileStatus> out = new ArrayList<>();
    File[] children = f.listFiles();
    if (children != null) {
      for (File c : children) {
        if (!c.getName().startsWith(".upload-")) out.add(status(c));
      }
    }
    return out.toArray(new FileStatus[0]);
  }

  @Override
  public boolean mkdirs(Path p, FsPermission permission) throws IOException {
    File f = file(p);
    if (f.isFile()) throw new FileAlreadyExistsException("Not a directory: " + qualify(p));
    return f.isDirectory() || f.mkdirs();
  }

  @Override
  public FSDataInputStream open(Path p, int bufferSize) throws IOException {
    getFileStatus(p);
    return local.open(new Path(file(p).toURI()), bufferSize);
  }

  @Override
  public FSDataOutputStream create(Path p, FsPermission permission, boolean overwrite, int bufferSize,
      short replication, long blockSize, Progressable progress) throws IOException {
    final File target = file(p);
    if (target.isDirectory() || (target.exists() && !overwrite)) {
      throw new FileAlreadyExistsException(qualify(p) + " already exists");
    }
    target.getParentFile().mkdirs();
    final File upload = new File(target.getParentFile(), ".upload-" + target.getName() + "-" + System.nanoTime());
    final OutputStream out = Files.newOutputStream(upload.toPath());
    OutputStream onClose = new FilterOutputStream(out) {
      private boolean closed;
      @Override public void write(byte[] b, int off, int len) throws IOException { out.write(b, off, len); }
      @Override public void close() throws IOException {
        if (closed) return;
        closed = true;
        super.close();
        Files.move(upload.toPath(), target.toPath(), StandardCopyOption.REPLACE_EXISTING);
      }
    };
    return new FSDataOutputStream(onClose, statistics);
  }

  @Override
  public FSDataOutputStream append(Path p, int bufferSize, Progressable progress) throws IOException {
    throw new UnsupportedOperationException("Append is not supported by S3AFileSystem");
  }

  @Override
  public boolean rename(Path src, Path dst) throws IOException {
    File from = file(src), to = file(dst);
    if (!from.exists() || to.exists()) return false;
    to.getParentFile().mkdirs();
    Files.copy(from.toPath(), to.toPath());
    return from.delete();
  }

  @Override
  public boolean delete(Path p, boolean recursive) throws IOException {
    File f = file(p);
    if (!f.exists()) return false;
    if (f.isDirectory()) {
      File[] children = f.listFiles();
      if (children != null && children.length > 0 && !recursive) throw new IOException("Directory not empty: " + p);
      return local.delete(new Path(f.toURI()), true);
    }
    return f.delete();
  }

  @Override public void setPermission(Path p, FsPermission permission) { }  // S3A: permissions are not stored
}
