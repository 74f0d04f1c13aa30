1i\
// Code generated from package echoauth by echov5.sed; DO NOT EDIT.\

s|^// Package echoauth adapts tokenauth to echo v4\.|// Package echov5auth adapts tokenauth to echo v5.|
s|^// echo service answers exactly as a net/http one does\. Package echov5auth,$|// echo service answers exactly as a net/http one does. It is generated|
s|^// generated from this file, is the same adapter for echo v5\.$|// from package echoauth, the same adapter for echo v4.|
s|^package echoauth$|package echov5auth|
s|^package echoauth_test$|package echov5auth_test|
s|/adapters/echoauth"|/adapters/echov5auth"|
s|echo/v4"|echo/v5"|
s|c echo\.Context|c *echo.Context|g
s|echoauth\.|echov5auth.|g
s|e\.Router()\.Find(m, echo\.GetPath(probe), pc)|e.Router().Route(pc)|
