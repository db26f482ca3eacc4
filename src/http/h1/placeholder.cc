// placeholder; replaced by the HTTP/1 parser
