// The events of the examples' shop, as msgpack maps: any program, in any
// language, that reads msgpack sees {"user": ..., "email": ...}.
#pragma once

#include <string>

#include <msgpack.hpp>

namespace shop {

struct user_registered {
  std::string user;
  std::string email;
  MSGPACK_DEFINE_MAP(user, email)
};

struct order_placed {
  std::string order_id;
  std::string user;
  double total = 0;
  MSGPACK_DEFINE_MAP(order_id, user, total)
};

struct cart_updated {
  std::string cart;
  int quantity = 0;  // items in the cart after the update
  MSGPACK_DEFINE_MAP(cart, quantity)
};

struct job {
  int id = 0;
  std::string what;
  MSGPACK_DEFINE_MAP(id, what)
};

}  // namespace shop
